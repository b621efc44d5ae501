import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { translateFilter } from '../../src/services/scim/filter';
import { ScimError } from '../../src/services/scim/scim-error';

const ID = '3F1E2D4C-5B6A-4789-9ABC-DEF012345678';

function refused(filter: string, resource: 'User' | 'Group' = 'User'): void {
  assert.throws(
    () => translateFilter(filter, resource),
    (error: unknown) => error instanceof ScimError && error.status === 400 && error.scimType === 'invalidFilter',
    filter,
  );
}

describe('SCIM filter translation', () => {
  it('translates the allow-listed attributes into parameterised conditions', () => {
    assert.deepEqual(translateFilter('userName eq "Ann@Example.com"', 'User'), { sql: 'u.email_normalized = ?', params: ['ann@example.com'] });
    assert.deepEqual(translateFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a@b.co"', 'User').params, ['a@b.co']);
    assert.deepEqual(translateFilter('USERNAME Eq "a@b.co"', 'User').sql, 'u.email_normalized = ?');
    assert.deepEqual(translateFilter('externalId eq "Ext-1"', 'User'), { sql: 'm.external_id = ?', params: ['Ext-1'] });
    assert.deepEqual(translateFilter(`id eq "${ID}"`, 'User'), { sql: 'm.user_id = ?', params: [ID.toLowerCase()] });
    assert.deepEqual(translateFilter('id eq "010101"', 'User'), { sql: 'false', params: [] }, 'an id that cannot exist matches nothing');
    assert.deepEqual(translateFilter('emails.value eq "A@b.co"', 'User').params, ['a@b.co']);
    assert.deepEqual(translateFilter('displayName eq "Ann S"', 'User'), { sql: 'lower(m.display_name) = ?', params: ['ann s'] });
    assert.deepEqual(translateFilter('displayName eq "Sales"', 'Group'), { sql: 'lower(g.name) = ?', params: ['sales'] });
  });

  it('compares displayName and externalId as they are stored: trimmed (a group created as " Ops " is found by its name as sent)', () => {
    assert.deepEqual(translateFilter('displayName eq " Ops "', 'Group').params, ['ops']);
    assert.deepEqual(translateFilter('displayName eq " Ann S "', 'User').params, ['ann s']);
    assert.deepEqual(translateFilter('externalId eq " Ext-1 "', 'User').params, ['Ext-1']);
  });

  it('reads emails[type eq "work"].value as the member’s email', () => {
    assert.deepEqual(translateFilter('emails[type eq "work"].value eq "A@b.co"', 'User'), { sql: '(true and u.email_normalized = ?)', params: ['a@b.co'] });
    assert.deepEqual(translateFilter('emails[type eq "home"].value eq "a@b.co"', 'User').sql, '(false and u.email_normalized = ?)');
  });

  it('joins with and/or, keeping the parameters in order', () => {
    const { sql, params } = translateFilter('userName eq "a@b.co" and (externalId eq "x" or id eq "' + ID + '")', 'User');
    assert.equal(sql, '(u.email_normalized = ? and (m.external_id = ? or m.user_id = ?))');
    assert.deepEqual(params, ['a@b.co', 'x', ID.toLowerCase()]);
    const group = translateFilter(`id eq "${ID}" and members[value eq "${ID}"]`, 'Group');
    assert.match(group.sql, /^\(g\.id = \? and exists \(select 1 from membership_group/);
  });

  it('refuses everything else with invalidFilter', () => {
    for (const filter of [
      'userName co "a"',
      'userName sw "a"',
      'userName pr',
      'userName ne "a"',
      'not (userName eq "a")',
      'title eq "x"',
      'name.givenName eq "x"',
      'active eq true',
      'userName eq 1',
      'emails[type co "w"].value eq "x"',
      'emails[display eq "w"]',
      'userName eq',
      '"unterminated',
      '',
      'x'.repeat(2001),
    ]) {
      refused(filter);
    }
    refused('members.display eq "x"', 'Group');
    refused('userName eq "a@b.co"', 'Group');
  });

  it('never lets a value into the SQL text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        const literal = JSON.stringify(value);
        let result;
        try {
          result = translateFilter(`userName eq ${literal} or externalId eq ${literal}`, 'User');
        } catch (error) {
          assert.ok(error instanceof ScimError && error.scimType === 'invalidFilter');
          return;
        }
        assert.equal(result.sql, '(u.email_normalized = ? or m.external_id = ?)');
      }),
    );
  });
});
