import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Acl, lowerPriority, parsePolicy, PolicyParseError, type Capability } from '../../../lib/localvault/acl.js';
import { DEFAULT_POLICY } from '../../../lib/localvault/builtin-policies.js';

const test = suite('localvault acl');

function acl(...policies: string[]): Acl {
  return new Acl(policies.map((text, i) => parsePolicy(`p${i}`, text)));
}
const path = (p: string, caps: string[]) => `path "${p}" { capabilities = ${JSON.stringify(caps)} }\n`;

// (policies, request path, needed capabilities, list?) -> allowed
const TABLE: Array<{ name: string; policies: string[]; path: string; need: Capability[]; list?: boolean; allowed: boolean }> = [
  // one row per capability
  { name: 'read granted', policies: [path('secret/data/a', ['read'])], path: 'secret/data/a', need: ['read'], allowed: true },
  { name: 'read not granted by list', policies: [path('secret/data/a', ['list'])], path: 'secret/data/a', need: ['read'], allowed: false },
  { name: 'create granted', policies: [path('secret/data/a', ['create'])], path: 'secret/data/a', need: ['create'], allowed: true },
  { name: 'update needs update, not create', policies: [path('secret/data/a', ['create'])], path: 'secret/data/a', need: ['update'], allowed: false },
  { name: 'update granted', policies: [path('secret/data/a', ['update'])], path: 'secret/data/a', need: ['update'], allowed: true },
  { name: 'patch granted', policies: [path('secret/data/a', ['patch'])], path: 'secret/data/a', need: ['patch'], allowed: true },
  { name: 'patch not implied by update', policies: [path('secret/data/a', ['update'])], path: 'secret/data/a', need: ['patch'], allowed: false },
  { name: 'delete granted', policies: [path('secret/data/a', ['delete'])], path: 'secret/data/a', need: ['delete'], allowed: true },
  { name: 'list granted on dir/', policies: [path('secret/metadata/dir/', ['list'])], path: 'secret/metadata/dir/', need: ['list'], list: true, allowed: true },
  { name: 'list on exact path without slash', policies: [path('secret/metadata/dir', ['list'])], path: 'secret/metadata/dir/', need: ['list'], list: true, allowed: true },
  { name: 'sudo granted', policies: [path('auth/token/revoke-orphan', ['update', 'sudo'])], path: 'auth/token/revoke-orphan', need: ['update', 'sudo'], allowed: true },
  { name: 'sudo missing', policies: [path('auth/token/revoke-orphan', ['update'])], path: 'auth/token/revoke-orphan', need: ['update', 'sudo'], allowed: false },
  { name: 'deny alone', policies: [path('secret/data/a', ['deny'])], path: 'secret/data/a', need: ['read'], allowed: false },
  { name: 'deny beats other capabilities in the same stanza', policies: [path('secret/data/a', ['read', 'deny'])], path: 'secret/data/a', need: ['read'], allowed: false },
  { name: 'deny beats sudo', policies: [path('secret/data/a', ['sudo', 'deny'])], path: 'secret/data/a', need: ['sudo'], allowed: false },
  { name: 'nothing matches', policies: [path('secret/data/a', ['read'])], path: 'secret/data/b', need: ['read'], allowed: false },
  { name: 'no policies', policies: [], path: 'secret/data/a', need: ['read'], allowed: false },
  // globs
  { name: '* is a prefix match', policies: [path('secret/zip-*', ['read'])], path: 'secret/zip-zap/zong', need: ['read'], allowed: true },
  { name: '* matches the prefix itself', policies: [path('secret/data/*', ['read'])], path: 'secret/data/', need: ['read'], allowed: true },
  { name: '* does not match a shorter path', policies: [path('secret/data/*', ['read'])], path: 'secret/data', need: ['read'], allowed: false },
  { name: '* in the middle is literal', policies: [path('secret/*/x', ['read'])], path: 'secret/a/x', need: ['read'], allowed: false },
  { name: '+ matches one segment', policies: [path('secret/data/+/config', ['read'])], path: 'secret/data/app/config', need: ['read'], allowed: true },
  { name: '+ does not match two segments', policies: [path('secret/data/+/config', ['read'])], path: 'secret/data/a/b/config', need: ['read'], allowed: false },
  { name: '+ with trailing *', policies: [path('secret/+/team-*', ['read'])], path: 'secret/data/team-a/x', need: ['read'], allowed: true },
  { name: 'leading /', policies: [path('/secret/data/a', ['read'])], path: 'secret/data/a', need: ['read'], allowed: true },
  // priority rules: only the highest-priority match counts
  { name: 'P1: exact beats glob (glob grants, exact denies)', policies: [path('secret/data/*', ['read']) + path('secret/data/a', ['deny'])], path: 'secret/data/a', need: ['read'], allowed: false },
  { name: 'P1: exact beats glob (exact grants less)', policies: [path('secret/data/*', ['read', 'update']) + path('secret/data/a', ['read'])], path: 'secret/data/a', need: ['update'], allowed: false },
  { name: 'P1: later first wildcard wins over earlier', policies: [path('secret/+/a', ['read']) + path('secret/data/+', ['update'])], path: 'secret/data/a', need: ['update'], allowed: true },
  { name: 'P1: earlier first wildcard loses', policies: [path('secret/+/a', ['read']) + path('secret/data/+', ['update'])], path: 'secret/data/a', need: ['read'], allowed: false },
  { name: 'P2: ending in * loses to not ending in *', policies: [path('secret/data/+', ['update']) + path('secret/data/*', ['read'])], path: 'secret/data/a', need: ['update'], allowed: true },
  { name: 'P2: the * pattern does not count', policies: [path('secret/data/+', ['update']) + path('secret/data/*', ['read'])], path: 'secret/data/a', need: ['read'], allowed: false },
  { name: 'P3: more + segments loses', policies: [path('secret/+/+/c', ['read']) + path('secret/+/b/c', ['update'])], path: 'secret/a/b/c', need: ['update'], allowed: true },
  { name: 'P3: the pattern with more + does not count', policies: [path('secret/+/+/c', ['read']) + path('secret/+/b/c', ['update'])], path: 'secret/a/b/c', need: ['read'], allowed: false },
  { name: 'P4: shorter loses (longer prefix glob wins)', policies: [path('secret/*', ['read']) + path('secret/data/*', ['update'])], path: 'secret/data/x', need: ['read'], allowed: false },
  { name: 'P4: longer prefix grants', policies: [path('secret/*', ['read']) + path('secret/data/*', ['update'])], path: 'secret/data/x', need: ['update'], allowed: true },
  { name: 'P5: lexicographically greater wins', policies: [path('+/x/+', ['update']) + path('+/+/y', ['read'])], path: 'a/x/y', need: ['update'], allowed: true },
  { name: 'P5: lexicographically smaller loses', policies: [path('+/x/+', ['update']) + path('+/+/y', ['read'])], path: 'a/x/y', need: ['read'], allowed: false },
  // union of the same pattern across policies
  { name: 'same path in two policies is unioned (read)', policies: [path('secret/data/a', ['read']), path('secret/data/a', ['update'])], path: 'secret/data/a', need: ['read', 'update'], allowed: true },
  { name: 'deny in one policy wins over grant in another', policies: [path('secret/data/a', ['read']), path('secret/data/a', ['deny'])], path: 'secret/data/a', need: ['read'], allowed: false },
  // KV v2 shaped paths
  { name: 'kv2 read needs data/', policies: [path('secret/data/app/*', ['read'])], path: 'secret/data/app/db', need: ['read'], allowed: true },
  { name: 'kv2 list needs metadata/', policies: [path('secret/data/app/*', ['read', 'list'])], path: 'secret/metadata/app/', need: ['list'], list: true, allowed: false },
  { name: 'kv2 list on metadata/*', policies: [path('secret/metadata/app/*', ['list'])], path: 'secret/metadata/app/', need: ['list'], list: true, allowed: true },
  { name: 'kv2 write needs create', policies: [path('secret/data/app/*', ['update'])], path: 'secret/data/app/new', need: ['create'], allowed: false },
  { name: 'kv2 destroy needs update on destroy/', policies: [path('secret/destroy/app/*', ['update'])], path: 'secret/destroy/app/db', need: ['update'], allowed: true },
  { name: 'kv2 undelete on undelete/', policies: [path('secret/data/app/*', ['update'])], path: 'secret/undelete/app/db', need: ['update'], allowed: false },
  { name: 'kv2 soft delete on data/', policies: [path('secret/data/app/*', ['delete'])], path: 'secret/data/app/db', need: ['delete'], allowed: true },
  { name: 'kv2 metadata delete', policies: [path('secret/metadata/app/*', ['delete'])], path: 'secret/metadata/app/db', need: ['delete'], allowed: true },
  // default policy
  { name: 'default: lookup-self', policies: [DEFAULT_POLICY], path: 'auth/token/lookup-self', need: ['read'], allowed: true },
  { name: 'default: renew-self', policies: [DEFAULT_POLICY], path: 'auth/token/renew-self', need: ['update'], allowed: true },
  { name: 'default: cubbyhole', policies: [DEFAULT_POLICY], path: 'cubbyhole/x', need: ['create', 'read', 'update', 'delete'], allowed: true },
  { name: 'default: unwrap', policies: [DEFAULT_POLICY], path: 'sys/wrapping/unwrap', need: ['update'], allowed: true },
  { name: 'default: not secrets', policies: [DEFAULT_POLICY], path: 'secret/data/a', need: ['read'], allowed: false },
  { name: 'default: not token create', policies: [DEFAULT_POLICY], path: 'auth/token/create', need: ['update'], allowed: false },
];

for (const row of TABLE) {
  test(`acl: ${row.name}`, () => {
    assert.is(acl(...row.policies).allows(row.path, row.need, row.list ?? false), row.allowed);
  });
}

test('root allows everything', () => {
  const a = new Acl([], true);
  assert.ok(a.allows('anything/at/all', ['sudo', 'delete']));
  assert.equal(a.describe('x'), ['root']);
});

test('describe: sorted capabilities, deny when nothing matches', () => {
  const a = acl(path('secret/*', ['update', 'read', 'list']));
  assert.equal(a.describe('secret/x'), ['list', 'read', 'update']);
  assert.equal(a.describe('other'), ['deny']);
});

test('priority comparator follows the documented order', () => {
  assert.ok(lowerPriority('secret/+/a', 'secret/data/+'), 'rule 1');
  assert.ok(lowerPriority('secret/data/*', 'secret/data/+'), 'rule 2');
  assert.ok(lowerPriority('secret/+/+/c', 'secret/+/b/c'), 'rule 3');
  // The first glob comes earlier in secret/* (index 7) than in secret/data/* (index 12): rule 1.
  assert.ok(lowerPriority('secret/*', 'secret/data/*'), 'rule 1');
  assert.not.ok(lowerPriority('secret/data/*', 'secret/*'), 'rule 1, the other way round');
  assert.ok(lowerPriority('secret/a*', 'secret/ab*'), 'rule 4');
  assert.ok(lowerPriority('+/+/y', '+/x/+'), 'rule 5');
  assert.not.ok(lowerPriority('secret/data/a', 'secret/data/*'), 'exact is highest');
});

test('hasMountAccess: a grant below the mount is enough', () => {
  assert.ok(acl(path('secret/data/app/*', ['read'])).hasMountAccess('secret/'));
  assert.ok(acl(path('+/data/app', ['read'])).hasMountAccess('secret/'));
  assert.not.ok(acl(path('other/*', ['read'])).hasMountAccess('secret/'));
  assert.not.ok(acl(path('secret/*', ['deny'])).hasMountAccess('secret/'));
});

// (policy with parameter constraints, request data) -> allowed
const PARAMS: Array<{ name: string; policy: string; data: Record<string, unknown>; allowed: boolean }> = [
  { name: 'required present', policy: 'path "kv/x" { capabilities = ["update"] required_parameters = ["owner"] }', data: { owner: 'a', v: '1' }, allowed: true },
  { name: 'required missing', policy: 'path "kv/x" { capabilities = ["update"] required_parameters = ["owner"] }', data: { v: '1' }, allowed: false },
  { name: 'allowed key, any value', policy: 'path "kv/x" { capabilities = ["update"] allowed_parameters = { "v" = [] } }', data: { v: 'anything' }, allowed: true },
  { name: 'key not allowed', policy: 'path "kv/x" { capabilities = ["update"] allowed_parameters = { "v" = [] } }', data: { v: '1', w: '2' }, allowed: false },
  { name: 'allowed value glob', policy: 'path "kv/x" { capabilities = ["update"] allowed_parameters = { "env" = ["dev-*", "prod"] } }', data: { env: 'dev-3' }, allowed: true },
  { name: 'value not allowed', policy: 'path "kv/x" { capabilities = ["update"] allowed_parameters = { "env" = ["dev-*", "prod"] } }', data: { env: 'staging' }, allowed: false },
  { name: 'allowed * plus a restricted key', policy: 'path "kv/x" { capabilities = ["update"] allowed_parameters = { "*" = [] "env" = ["prod"] } }', data: { other: '1', env: 'dev' }, allowed: false },
  { name: 'denied key', policy: 'path "kv/x" { capabilities = ["update"] denied_parameters = { "admin" = [] } }', data: { admin: 'true' }, allowed: false },
  { name: 'denied value only', policy: 'path "kv/x" { capabilities = ["update"] denied_parameters = { "env" = ["prod"] } }', data: { env: 'dev' }, allowed: true },
  { name: 'denied * blocks any parameter', policy: 'path "kv/x" { capabilities = ["update"] denied_parameters = { "*" = [] } }', data: { a: '1' }, allowed: false },
  { name: 'no data is always fine', policy: 'path "kv/x" { capabilities = ["update"] allowed_parameters = { "v" = ["1"] } }', data: {}, allowed: true },
];
for (const row of PARAMS) {
  test(`acl parameters: ${row.name}`, () => {
    assert.is(acl(row.policy).allows('kv/x', ['update'], false, row.data), row.allowed);
  });
}

test('parameter constraints of the same path in two policies are merged', () => {
  const a = acl('path "kv/x" { capabilities = ["update"] allowed_parameters = { "env" = ["dev"] } }', 'path "kv/x" { capabilities = ["update"] allowed_parameters = { "env" = ["prod"] } }');
  assert.ok(a.allows('kv/x', ['update'], false, { env: 'prod' }));
  assert.ok(a.allows('kv/x', ['update'], false, { env: 'dev' }));
  assert.not.ok(a.allows('kv/x', ['update'], false, { env: 'qa' }));
});

const INVALID: Array<[string, string]> = [
  ['unknown capability', 'path "a" { capabilities = ["reed"] }'],
  ['capabilities are case-sensitive', 'path "a" { capabilities = ["READ"] }'],
  ['unknown key', 'path "a" { capabilities = ["read"]\n foo = 1 }'],
  ['unknown top-level key', 'bogus "a" { }'],
  ['unterminated block', 'path "a" { capabilities = ["read"]'],
  ['unterminated string', 'path "a { }'],
  ['+* forbidden', 'path "a/+*" { capabilities = ["read"] }'],
  ['capabilities not a list', 'path "a" { capabilities = "read" }'],
  // hcl's JSON reader accepts a truncated `{"path": {"a": ` (as Vault does); a bad key it refuses.
  ['broken JSON', '{"path": {"a": {"capabilities" ["read"]}}}'],
  ['garbage', '%%%'],
  ['allowed_parameters not a map', 'path "a" { capabilities = ["read"] allowed_parameters = ["x"] }'],
  ['allowed_parameters value not a list', 'path "a" { capabilities = ["read"] allowed_parameters = { "x" = "y" } }'],
];
for (const [name, text] of INVALID) {
  test(`invalid policy: ${name}`, () => {
    assert.throws(() => parsePolicy('x', text), (err: unknown) => err instanceof PolicyParseError);
  });
}

test('JSON policy syntax', () => {
  const p = parsePolicy('j', JSON.stringify({ path: { 'secret/data/*': { capabilities: ['read', 'list'] } } }));
  assert.equal(p.rules, [{ pattern: 'secret/data/*', capabilities: ['read', 'list'] }]);
});

test('legacy policy = "write"', () => {
  const p = parsePolicy('l', 'path "a" { policy = "write" }');
  assert.ok(new Acl([p]).allows('a', ['create', 'read', 'update', 'delete', 'list']));
});

test('comments of every kind', () => {
  const p = parsePolicy('c', '# hash\n// slashes\n/* block\n comment */ path "a" { /* inline */ capabilities = ["read",] } # end');
  assert.equal(p.rules.length, 1);
  assert.equal(p.rules[0].capabilities, ['read']);
});

test.run();
