import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { volumeTokenRole, VOLUME_TOKEN_ROLE, DRIVER_POLICY_NAME } from '../../../lib/access/boundary.js';
import { startTestStore, type TestStore } from '../../helpers/store.js';

/**
 * Minting through a token role (`auth/token/create/ROLE`) gives the policy set Vault's does, over
 * HTTP, for each combination secretfs uses and the ones around it. The rules are
 * vault/token_store.go handleCreateCommon: with a role that lists allowed or disallowed policies,
 * `default` is added unless the request sets no_default_policy, the role sets
 * token_no_default_policy, or the role disallows it; every requested policy must be in
 * allowed_policies or match allowed_policies_glob (else 400 "token policies (...) must be subset
 * of the role's allowed policies (...) or glob policies (...)"); then none may be disallowed (400
 * "token policy \"x\" is disallowed by this role"); only the request's no_default_policy strips an
 * explicitly asked-for `default`; a role without lists takes the parent's rules (token_no_default_policy
 * then changes nothing). orphan, renewable, token_period and token_explicit_max_ttl come from the role.
 */
const test = suite('localvault token roles: the policies Vault would give');
let store: TestStore;

async function call(method: string, path: string, body?: unknown, token = store.rootToken) {
  const res = await fetch(`${store.addr}/v1/${path}`, { method, headers: { 'X-Vault-Token': token }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const policy = 'path "secret/data/x" { capabilities = ["read"] }';
/** A non-sudo parent allowed to mint through every role (as the driver's credential is). */
let minter = '';

test.before(async () => {
  store = await startTestStore();
  for (const name of ['secretfs-allow-a', 'secretfs-volume-b', 'app', 'other', DRIVER_POLICY_NAME, 'minter']) {
    const text = name === 'minter' ? 'path "auth/token/create/*" { capabilities = ["update"] }' : policy;
    assert.is((await call('PUT', `sys/policies/acl/${name}`, { policy: text })).status, 204);
  }
  minter = (await call('POST', 'auth/token/create', { policies: ['minter', 'app'] })).body.auth.client_token;
});
test.after(async () => {
  await store.stop();
});

interface Row {
  name: string;
  role: Record<string, unknown>;
  request: Record<string, unknown>;
  /** The parent: root (sudo) or the non-sudo minter (policies minter, app, default). */
  parent?: 'root' | 'minter';
  policies?: string[];
  error?: string;
}

const ROLE = volumeTokenRole();
const ROWS: Row[] = [
  // The secretfs role: globs of administrator policies, default disallowed and never added.
  { name: 'secretfs role: an allow policy', role: ROLE, request: { policies: ['secretfs-allow-a'], no_default_policy: true }, parent: 'minter', policies: ['secretfs-allow-a'] },
  { name: 'secretfs role: without no_default_policy, still no default', role: ROLE, request: { policies: ['secretfs-allow-a', 'secretfs-volume-b'] }, parent: 'minter', policies: ['secretfs-allow-a', 'secretfs-volume-b'] },
  {
    name: 'secretfs role: a policy outside the globs',
    role: ROLE,
    request: { policies: ['app'] },
    parent: 'minter',
    error: 'token policies (["app"]) must be subset of the role\'s allowed policies ([]) or glob policies (["secretfs-allow-*" "secretfs-volume-*"])',
  },
  {
    name: 'secretfs role: asking for default is outside the globs',
    role: ROLE,
    request: { policies: ['secretfs-allow-a', 'default'] },
    parent: 'minter',
    error: 'token policies (["default" "secretfs-allow-a"]) must be subset of the role\'s allowed policies ([]) or glob policies (["secretfs-allow-*" "secretfs-volume-*"])',
  },
  {
    name: 'secretfs role: root is outside the globs',
    role: ROLE,
    request: { policies: ['root'] },
    parent: 'minter',
    error: 'token policies (["root"]) must be subset of the role\'s allowed policies ([]) or glob policies (["secretfs-allow-*" "secretfs-volume-*"])',
  },
  { name: 'secretfs role: no policies asked gives none (globs are not expanded)', role: ROLE, request: {}, parent: 'minter', policies: [] },
  // The same rules around it.
  { name: 'allowed list, default added', role: { allowed_policies: ['app'] }, request: { policies: ['app'] }, policies: ['app', 'default'] },
  { name: 'allowed list, nothing asked: the list and default', role: { allowed_policies: ['app', 'other'] }, request: {}, policies: ['app', 'default', 'other'] },
  { name: 'allowed list, request no_default_policy', role: { allowed_policies: ['app'] }, request: { policies: ['app'], no_default_policy: true }, policies: ['app'] },
  { name: 'allowed list, role token_no_default_policy', role: { allowed_policies: ['app'], token_no_default_policy: true }, request: { policies: ['app'] }, policies: ['app'] },
  { name: 'role token_no_default_policy keeps an explicitly asked-for default', role: { allowed_policies: ['app', 'default'], token_no_default_policy: true }, request: { policies: ['app', 'default'] }, policies: ['app', 'default'] },
  { name: 'request no_default_policy strips an explicitly asked-for default', role: { allowed_policies: ['app', 'default'] }, request: { policies: ['app', 'default'], no_default_policy: true }, policies: ['app'] },
  { name: 'default disallowed: not added', role: { allowed_policies: ['app'], disallowed_policies: ['default'] }, request: { policies: ['app'] }, policies: ['app'] },
  { name: 'default disallowed by glob: not added', role: { allowed_policies: ['app'], disallowed_policies_glob: ['def*'] }, request: { policies: ['app'] }, policies: ['app'] },
  { name: 'default allowed and disallowed, asked for: disallowed', role: { allowed_policies: ['app', 'default'], disallowed_policies: ['default'] }, request: { policies: ['default'] }, error: 'token policy "default" is disallowed by this role' },
  { name: 'glob allows, literal list checked too', role: { allowed_policies: ['app'], allowed_policies_glob: ['secretfs-*'] }, request: { policies: ['secretfs-allow-a', 'app'] }, policies: ['app', 'default', 'secretfs-allow-a'] },
  { name: 'glob in the middle', role: { allowed_policies_glob: ['secretfs-*-a'] }, request: { policies: ['secretfs-allow-a'] }, policies: ['default', 'secretfs-allow-a'] },
  {
    name: 'outside the allowed list (default counted in the message)',
    role: { allowed_policies: ['app'] },
    request: { policies: ['other'] },
    error: 'token policies (["default" "other"]) must be subset of the role\'s allowed policies (["app" "default"]) or glob policies ([])',
  },
  { name: 'disallowed list only: any policy but those (sudo parent)', role: { disallowed_policies: [DRIVER_POLICY_NAME] }, request: { policies: ['other'] }, policies: ['default', 'other'] },
  { name: 'disallowed list only, disallowed asked', role: { disallowed_policies: [DRIVER_POLICY_NAME] }, request: { policies: [DRIVER_POLICY_NAME] }, error: `token policy "${DRIVER_POLICY_NAME}" is disallowed by this role` },
  { name: 'disallowed glob', role: { disallowed_policies_glob: ['secretfs-*'] }, request: { policies: ['secretfs-volume-b'] }, error: 'token policy "secretfs-volume-b" is disallowed by this role' },
  { name: 'disallowed list only, nothing asked: the parent policies and default', role: { disallowed_policies: ['other'] }, request: {}, parent: 'minter', policies: ['app', 'default', 'minter'] },
  // A role without lists: the parent rules; its token_no_default_policy does not strip default.
  { name: 'role without lists, sudo parent: default added', role: { token_no_default_policy: true }, request: { policies: ['app'] }, policies: ['app', 'default'] },
  { name: 'role without lists, non-sudo parent: subset of parent', role: { token_no_default_policy: true }, request: { policies: ['app'] }, parent: 'minter', policies: ['app', 'default'] },
  { name: 'role without lists, non-sudo parent, outside the parent', role: {}, request: { policies: ['other'] }, parent: 'minter', error: 'child policies must be subset of parent' },
];

let n = 0;
for (const row of ROWS) {
  test(`role ${row.name}`, async () => {
    const role = `r${++n}`;
    assert.is((await call('POST', `auth/token/roles/${role}`, row.role)).status, 204);
    const parent = row.parent === 'minter' ? minter : store.rootToken;
    const res = await call('POST', `auth/token/create/${role}`, row.request, parent);
    if (row.error !== undefined) {
      assert.is(res.status, 400);
      assert.equal(res.body.errors, [row.error]);
      return;
    }
    assert.is(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.auth.policies, row.policies);
    const lookup = await call('POST', 'auth/token/lookup', { token: res.body.auth.client_token });
    assert.equal(lookup.body.data.policies, row.policies, 'stored as returned');
  });
}

test('orphan, renewable, token_period and token_explicit_max_ttl come from the role; the secretfs role makes renewable children', async () => {
  await call('POST', 'auth/token/roles/life', { allowed_policies: ['app'], orphan: true, renewable: false, token_period: '30m' });
  const periodic = (await call('POST', 'auth/token/create/life', { policies: ['app'], ttl: '5h' })).body.auth;
  assert.is(periodic.orphan, true);
  assert.is(periodic.renewable, false);
  assert.is(periodic.lease_duration, 1800, 'the period, not the asked ttl');
  await call('POST', 'auth/token/roles/capped', { allowed_policies: ['app'], token_explicit_max_ttl: '1h' });
  const capped = await call('POST', 'auth/token/create/capped', { policies: ['app'], ttl: '5h', explicit_max_ttl: '3h' });
  assert.is(capped.body.auth.lease_duration, 3600);
  assert.ok(capped.body.warnings.includes('Explicit max TTL specified both during creation call and in role; using the lesser value of 3600 seconds'), capped.body.warnings);
  assert.is((await call('POST', `auth/token/roles/${VOLUME_TOKEN_ROLE}`, ROLE)).status, 204);
  const vol = (await call('POST', `auth/token/create/${VOLUME_TOKEN_ROLE}`, { policies: ['secretfs-allow-a'], ttl: '1h' }, minter)).body.auth;
  assert.is(vol.orphan, false);
  assert.is(vol.renewable, true);
  assert.is(vol.lease_duration, 3600);
  assert.equal((await call('POST', 'auth/token/lookup', { token: vol.client_token })).body.data.role, VOLUME_TOKEN_ROLE);
});

test('an unknown role is 400 "unknown role NAME"', async () => {
  const res = await call('POST', 'auth/token/create/nope', {});
  assert.is(res.status, 400);
  assert.equal(res.body.errors, ['unknown role nope']);
});

test.run();
