import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

/** Every `$ref` in a document, with where it was found. */
function refsIn(value: unknown, at = '#'): Array<{ at: string; ref: string }> {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === '$ref' && typeof child === 'string' ? [{ at, ref: child }] : refsIn(child, `${at}/${key}`),
  );
}

describe('OpenAPI document (/openapi.json)', () => {
  let t: TestApp;
  let a: SeededTenant;
  let doc: any;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('Try it out');
    const res = await t.app.server.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    doc = res.json();
  });
  after(() => t.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item as object).map(([method, op]) => ({ path, method, op: op as any })));
  const component = (ref: string) => {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
    assert.ok(name, `not a component reference: ${ref}`);
    return doc.components.schemas[name];
  };

  it('is a valid OpenAPI 3 document (swagger-parser: schema and references)', async () => {
    // validate() dereferences in place: give it a copy.
    const api: any = await SwaggerParser.validate(structuredClone(doc));
    assert.match(api.openapi, /^3\.0\./);
  });

  it('names every operation and every schema, and states the license', () => {
    const ops = operations();
    assert.ok(ops.length >= 2, JSON.stringify(ops.map((o) => o.path)));
    const ids = ops.map(({ op }) => op.operationId);
    for (const { path, method, op } of ops) assert.match(op.operationId ?? '', /^[a-z][A-Za-z0-9]+$/, `${method} ${path} has an operationId`);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    assert.deepEqual(ids.sort(), ['aptlydoneBulkInvite', 'royaltiBulkCreateUsers']);

    const names = Object.keys(doc.components.schemas);
    for (const name of ['AptlydoneBulkInviteRequest', 'AptlydoneUser', 'AptlydoneBulkInviteResponse', 'AptlydoneError', 'RoyaltiBulkUsersRequest', 'RoyaltiUser', 'RoyaltiBulkUsersResponse', 'RoyaltiError']) {
      assert.ok(names.includes(name), `components.schemas.${name} (have ${names.join(', ')})`);
    }
    assert.deepEqual(names.filter((n) => /^def-\d+$/.test(n)), [], 'no anonymous def-N schemas');
    for (const { at, ref } of refsIn(doc)) assert.ok(component(ref), `${at} refers to an existing component (${ref})`);
    for (const { path, op } of operations()) {
      assert.ok(op.requestBody.content['application/json'].schema.$ref, `${path} request body is a named schema`);
      for (const [status, response] of Object.entries<any>(op.responses)) {
        assert.ok(response.content['application/json'].schema.$ref, `${path} ${status} is a named schema`);
      }
    }

    assert.equal(doc.info.license?.name, 'UNLICENSED: proprietary, all rights reserved');
  });

  it("sends examples that work as they are in Swagger UI's Try it out: no made-up tenantId or ids", async () => {
    const aptlydone = operations().find(({ op }) => op.operationId === 'aptlydoneBulkInvite')!;
    const aptlydoneRequest = component(aptlydone.op.requestBody.content['application/json'].schema.$ref);
    assert.equal(aptlydoneRequest.required.includes('tenantId'), false, 'tenantId is optional');
    assert.match(aptlydoneRequest.properties.tenantId.description, /token's/);
    const example = aptlydoneRequest.example;
    assert.ok(example, 'aptlydone request example');
    assert.equal('tenantId' in example, false, 'the example leaves tenantId to the token');
    const sent = await t.post(aptlydone.path, example, a.token);
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.deepEqual({ total: sent.body.data.total, successful: sent.body.data.successful }, { total: example.users.length, successful: example.users.length });
    const responseExample = component(aptlydone.op.responses['200'].content['application/json'].schema.$ref).example;
    assert.deepEqual(Object.keys(sent.body).sort(), Object.keys(responseExample).sort());

    const royalti = operations().find(({ op }) => op.operationId === 'royaltiBulkCreateUsers')!;
    const royaltiExample = component(royalti.op.requestBody.content['application/json'].schema.$ref).example;
    assert.ok(royaltiExample, 'royalti request example');
    const created = await t.post(royalti.path, royaltiExample, a.token);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);
    assert.equal(created.body.createdUsers.length, royaltiExample.users.length);
    const royaltiResponseExample = component(royalti.op.responses['200'].content['application/json'].schema.$ref).example;
    assert.deepEqual(Object.keys(created.body).sort(), Object.keys(royaltiResponseExample).sort());
  });

  it('still validates request bodies strictly through the named schemas (unknown field: 400 naming it)', async () => {
    const res = await t.post('/auth/v1/user/bulk-invite', { users: [{ email: 'x@example.com', groups: [{ groupId: a.groups[0], colour: 'red' }] }] }, a.token);
    assert.equal(res.status, 400);
    assert.match(res.body.message, /Unknown field: users\[0\]\.groups\[0\]\.colour/);
  });
});
