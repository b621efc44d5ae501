import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeGroupPatch, normalizeUserPatch } from '../../src/services/scim/patch';
import { ScimError } from '../../src/services/scim/scim-error';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const body = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });
const USER = '3f1e2d4c-5b6a-4789-9abc-def012345678';
const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const C = '33333333-3333-4333-8333-333333333333';

function refused(fn: () => unknown, scimType: string): void {
  assert.throws(fn, (error: unknown) => error instanceof ScimError && error.status === 400 && error.scimType === scimType);
}

describe('SCIM PATCH normalisation: users', () => {
  it('reads RFC operations', () => {
    assert.deepEqual(
      normalizeUserPatch(body({ op: 'replace', path: 'active', value: false }, { op: 'add', path: 'name.givenName', value: 'Ann' }, { op: 'remove', path: 'externalId' }), USER),
      { active: false, givenName: 'Ann', externalId: null },
    );
  });

  it('reads Okta’s pathless replace of active', () => {
    assert.deepEqual(normalizeUserPatch(body({ op: 'replace', value: { active: false } }), USER), { active: false });
  });

  it('reads Entra’s default mode: capitalised ops, "False", filtered email path, URN-prefixed attributes', () => {
    assert.deepEqual(
      normalizeUserPatch(
        body(
          { op: 'Replace', path: 'active', value: 'False' },
          { op: 'Add', path: 'emails[type eq "work"].value', value: 'ann@example.com' },
          { op: 'Replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User:displayName', value: 'Ann S' },
          { op: 'Replace', path: 'name.formatted', value: 'ignored' },
        ),
        USER,
      ),
      { active: false, email: 'ann@example.com', displayName: 'Ann S' },
    );
    assert.deepEqual(normalizeUserPatch(body({ op: 'REPLACE', path: 'active', value: 'true' }), USER), { active: true });
  });

  it('reads aadOptscim062020: pathless replace with dotted keys, nested objects, emails arrays', () => {
    assert.deepEqual(
      normalizeUserPatch(
        body({
          op: 'replace',
          value: { 'name.givenName': 'Ann', name: { familyName: 'Smith' }, displayName: 'Ann Smith', emails: [{ value: 'home@x.co', type: 'home' }, { value: 'ann@x.co', type: 'work', primary: 'True' }], id: USER.toUpperCase() },
        }),
        USER,
      ),
      { givenName: 'Ann', familyName: 'Smith', displayName: 'Ann Smith', email: 'ann@x.co' },
    );
  });

  it('reads userType, the enterprise manager (a string or {value}), and ignores Okta’s password sync', () => {
    const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    assert.deepEqual(
      normalizeUserPatch(body({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: A.toUpperCase() }, { op: 'replace', path: 'userType', value: 'Contractor' }, { op: 'replace', value: { password: 'secret' } }), USER),
      { managerId: A, userType: 'Contractor' },
    );
    assert.deepEqual(normalizeUserPatch(body({ op: 'replace', value: { [ENTERPRISE]: { manager: { value: B } } } }), USER), { managerId: B });
    assert.deepEqual(normalizeUserPatch(body({ op: 'remove', path: `${ENTERPRISE}:manager` }), USER), { managerId: null });
    refused(() => normalizeUserPatch(body({ op: 'replace', path: `${ENTERPRISE}:department`, value: 'x' }), USER), 'invalidPath');
  });

  it('refuses read-only attributes, unknown paths and bad shapes with the right scimType', () => {
    for (const path of ['id', 'meta', 'groups', 'meta.lastModified', 'schemas']) refused(() => normalizeUserPatch(body({ op: 'replace', path, value: 'x' }), USER), 'mutability');
    refused(() => normalizeUserPatch(body({ op: 'replace', value: { id: A } }), USER), 'mutability');
    refused(() => normalizeUserPatch(body({ op: 'replace', path: 'title', value: 'x' }), USER), 'invalidPath');
    refused(() => normalizeUserPatch(body({ op: 'replace', path: 'urn:example:ext:title', value: 'x' }), USER), 'invalidPath');
    refused(() => normalizeUserPatch(body({ op: 'replace', path: 'name[x eq "y"]', value: 'x' }), USER), 'invalidPath');
    refused(() => normalizeUserPatch(body({ op: 'replace', path: 'emails[type eq "home"].value', value: 'x@y.co' }), USER), 'noTarget');
    refused(() => normalizeUserPatch(body({ op: 'remove' }), USER), 'noTarget');
    refused(() => normalizeUserPatch(body({ op: 'copy', path: 'active', value: true }), USER), 'invalidSyntax');
    refused(() => normalizeUserPatch(body({ op: 'replace', path: 'active', value: 'yes' }), USER), 'invalidValue');
    refused(() => normalizeUserPatch(body({ op: 'remove', path: 'userName' }), USER), 'invalidValue');
    refused(() => normalizeUserPatch(body({ op: 'replace', value: 'x' }), USER), 'invalidValue');
    refused(() => normalizeUserPatch({ Operations: [] }, USER), 'invalidSyntax');
    refused(() => normalizeUserPatch(body(), USER), 'invalidSyntax');
    refused(() => normalizeUserPatch(null, USER), 'invalidSyntax');
  });
});

describe('SCIM PATCH normalisation: groups', () => {
  it('reads Okta’s rename (pathless, with the group’s own id) and remove-by-filter plus add', () => {
    assert.deepEqual(normalizeGroupPatch(body({ op: 'replace', value: { id: USER, displayName: 'New' } }), USER), { displayName: 'New', addMembers: [], removeMembers: [] });
    assert.deepEqual(
      normalizeGroupPatch(body({ op: 'remove', path: `members[value eq "${A.toUpperCase()}"]` }, { op: 'add', path: 'members', value: [{ value: B, display: 'b' }] }), USER),
      { addMembers: [B], removeMembers: [A] },
    );
  });

  it('reads Entra’s member removal as path "members" + value array (only those), and filters joined by or', () => {
    assert.deepEqual(normalizeGroupPatch(body({ op: 'Remove', path: 'members', value: [{ value: A }, { value: B }] }), USER), { addMembers: [], removeMembers: [A, B] });
    assert.deepEqual(normalizeGroupPatch(body({ op: 'remove', path: `members[value eq "${A}" or value eq "${B}"]` }), USER), { addMembers: [], removeMembers: [A, B] });
  });

  it('keeps the order of operations on the same member, and folds later ones into a replace', () => {
    assert.deepEqual(normalizeGroupPatch(body({ op: 'add', path: 'members', value: [{ value: A }] }, { op: 'remove', path: 'members', value: [{ value: A }] }), USER), {
      addMembers: [],
      removeMembers: [A],
    });
    assert.deepEqual(
      normalizeGroupPatch(body({ op: 'replace', path: 'members', value: [{ value: A }, { value: B }] }, { op: 'remove', path: `members[value eq "${A}"]` }, { op: 'add', path: 'members', value: [{ value: C }] }), USER),
      { members: [B, C], addMembers: [], removeMembers: [] },
    );
    assert.deepEqual(normalizeGroupPatch(body({ op: 'remove', path: 'members' }), USER), { members: [], addMembers: [], removeMembers: [] });
  });

  it('refuses what a group does not have', () => {
    refused(() => normalizeGroupPatch(body({ op: 'replace', path: 'members[value eq "x"]', value: [] }), USER), 'invalidPath');
    refused(() => normalizeGroupPatch(body({ op: 'remove', path: 'members[display eq "x"]' }), USER), 'invalidPath');
    refused(() => normalizeGroupPatch(body({ op: 'replace', path: 'owner', value: 'x' }), USER), 'invalidPath');
    refused(() => normalizeGroupPatch(body({ op: 'replace', path: 'id', value: A }), USER), 'mutability');
    refused(() => normalizeGroupPatch(body({ op: 'add', path: 'members', value: [{ display: 'no value' }] }), USER), 'invalidValue');
    refused(() => normalizeGroupPatch(body({ op: 'remove', path: 'displayName' }), USER), 'invalidValue');
  });
});
