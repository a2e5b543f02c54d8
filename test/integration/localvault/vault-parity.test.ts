import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openStoreKey } from '../../../lib/localvault/storage.js';
import { createStoreServer } from '../../../lib/localvault/server.js';
import { storeEnv } from '../../../lib/localvault/process.js';
import { startTestStore, vaultClient, vaultError, type TestStore } from '../../helpers/store.js';

/** Answers an independent Vault client found to differ from Vault's, each pinned to Vault's status, shape and text. */
const test = suite('localvault answers as Vault where clients found it did not');
let store: TestStore;
let vault: any;

test.before(async () => {
  store = await startTestStore();
  vault = vaultClient(store.addr, store.rootToken);
  await vault.write('secret/data/parity/a', { data: { v: '1' } });
});
test.after(async () => {
  await store.stop();
});

async function call(method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string>; token?: string } = {}) {
  const res = await fetch(`${store.addr}${path}`, {
    method,
    body: init.body,
    headers: { 'X-Vault-Token': init.token ?? store.rootToken, ...(init.headers ?? {}) },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

test('?list= is parsed as Go strconv.ParseBool: every true spelling lists, false spellings read, anything else is 400 {"errors":[]}', async () => {
  for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) {
    const r = await call('GET', `/v1/secret/metadata/parity?list=${t}`);
    assert.is(r.status, 200, t);
    assert.equal(r.body.data.keys, ['a'], t);
  }
  for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) {
    // A read of the folder path: there is no key "parity", so 404.
    assert.is((await call('GET', `/v1/secret/metadata/parity?list=${f}`)).status, 404, f);
  }
  for (const bad of ['yes', 'tRUE', '2', 'on']) {
    const r = await call('GET', `/v1/secret/metadata/parity?list=${bad}`);
    assert.is(r.status, 400, bad);
    assert.equal(r.body, { errors: [] }, bad);
  }
});

test('sys/mounts/<path>/tune keeps default_lease_ttl and max_lease_ttl; read-back and sys/mounts show them; "system" resets', async () => {
  await vault.mount({ mount_point: 'tuned', type: 'kv' });
  assert.is((await call('POST', '/v1/sys/mounts/tuned/tune', { body: JSON.stringify({ default_lease_ttl: '1h', max_lease_ttl: 9000 }) })).status, 204);
  const tune = await vault.read('sys/mounts/tuned/tune');
  assert.is(tune.data.default_lease_ttl, 3600);
  assert.is(tune.data.max_lease_ttl, 9000);
  const mounts = await vault.read('sys/mounts');
  assert.equal(mounts.data['tuned/'].config.default_lease_ttl, 3600);
  assert.equal(mounts.data['tuned/'].config.max_lease_ttl, 9000);
  // Only one of them: the other is kept.
  await vault.write('sys/mounts/tuned/tune', { max_lease_ttl: '3h' });
  assert.is((await vault.read('sys/mounts/tuned/tune')).data.default_lease_ttl, 3600);
  await vault.write('sys/mounts/tuned/tune', { default_lease_ttl: 'system', max_lease_ttl: 'system' });
  const reset = await vault.read('sys/mounts/tuned/tune');
  assert.is(reset.data.default_lease_ttl, 2764800);
  assert.is((await vault.read('sys/mounts')).data['tuned/'].config.max_lease_ttl, 0);
});

test('tune refuses a max below the default and unparsable TTLs with Vault texts, changing nothing', async () => {
  await vault.write('sys/mounts/tuned/tune', { default_lease_ttl: 60, max_lease_ttl: 120 });
  const low = await call('POST', '/v1/sys/mounts/tuned/tune', { body: JSON.stringify({ default_lease_ttl: 9000, max_lease_ttl: 10 }) });
  assert.is(low.status, 400);
  assert.equal(low.body, { errors: ['backend max lease TTL of 10 would be less than backend default lease TTL of 9000'] });
  const bad = await call('POST', '/v1/sys/mounts/tuned/tune', { body: JSON.stringify({ default_lease_ttl: 'soon' }) });
  assert.is(bad.status, 400);
  assert.equal(bad.body, { errors: ['time: invalid duration "soon"'] });
  const tune = await vault.read('sys/mounts/tuned/tune');
  assert.is(tune.data.default_lease_ttl, 60);
  assert.is(tune.data.max_lease_ttl, 120);
});

test('DELETE sys/auth/<path> with nothing mounted there is 204; the token method cannot be disabled', async () => {
  const r = await call('DELETE', '/v1/sys/auth/nothing-here');
  assert.is(r.status, 204);
  const tok = await call('DELETE', '/v1/sys/auth/token');
  assert.is(tok.status, 400);
  assert.equal(tok.body, { errors: ['token credential backend cannot be disabled'] });
});

test('X-Vault-Wrap-TTL: Go int64 semantics; a value that overflows negative and unparsable values are 400 with Vault texts', async () => {
  // 99999999999999 s in nanoseconds wraps around int64 in Vault to 200376419 s (a positive TTL); lookup must work.
  const wrapped = await call('POST', '/v1/sys/wrapping/wrap', { body: '{"k":"v"}', headers: { 'X-Vault-Wrap-TTL': '99999999999999' } });
  assert.is(wrapped.status, 200);
  assert.is(wrapped.body.wrap_info.ttl, 200376419);
  const look = await call('POST', '/v1/sys/wrapping/lookup', { body: JSON.stringify({ token: wrapped.body.wrap_info.token }) });
  assert.is(look.status, 200);
  assert.is(look.body.data.creation_ttl, 200376419);
  // 9300000000 s wraps to a negative duration.
  const neg = await call('POST', '/v1/sys/wrapping/wrap', { body: '{"k":"v"}', headers: { 'X-Vault-Wrap-TTL': '9300000000' } });
  assert.is(neg.status, 400);
  assert.equal(neg.body, { errors: ['error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative'] });
  const huge = await call('POST', '/v1/sys/wrapping/wrap', { body: '{"k":"v"}', headers: { 'X-Vault-Wrap-TTL': '99999999999999999999' } });
  assert.is(huge.status, 400);
  assert.equal(huge.body, { errors: ['error parsing X-Vault-Wrap-TTL header: time: missing unit in duration "99999999999999999999"'] });
  const hours = await call('POST', '/v1/sys/wrapping/wrap', { body: '{"k":"v"}', headers: { 'X-Vault-Wrap-TTL': '9999999h' } });
  assert.is(hours.status, 400);
  assert.equal(hours.body, { errors: ['error parsing X-Vault-Wrap-TTL header: time: invalid duration "9999999h"'] });
});

test('policy min/max_wrapping_ttl are enforced (403 unwrapped, too short, too long) and validated', async () => {
  await vault.addPolicy({
    name: 'wrap-bounds',
    rules: 'path "secret/data/parity/*" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "1m"\n  max_wrapping_ttl = "1h"\n}',
  });
  // node-vault switches to a token it creates: use a client of its own for that.
  const t = await vaultClient(store.addr, store.rootToken).tokenCreate({ policies: ['wrap-bounds'] });
  const token = t.auth.client_token;
  const read = (ttl?: string) => call('GET', '/v1/secret/data/parity/a', { token, headers: ttl ? { 'X-Vault-Wrap-TTL': ttl } : {} });
  const denied = { errors: ['1 error occurred:\n\t* permission denied\n\n'] };
  const plain = await read();
  assert.is(plain.status, 403);
  assert.equal(plain.body, denied);
  assert.is((await read('30s')).status, 403);
  assert.is((await read('2h')).status, 403);
  const ok = await read('10m');
  assert.is(ok.status, 200);
  assert.is(ok.body.wrap_info.ttl, 600);
  const bad = await vaultError(vault.addPolicy({ name: 'wrap-bad', rules: 'path "x" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "2h"\n  max_wrapping_ttl = "1h"\n}' }));
  assert.is(bad.status, 400);
  assert.is(bad.message, 'failed to parse policy: max_wrapping_ttl cannot be less than min_wrapping_ttl');
  const unparsable = await vaultError(vault.addPolicy({ name: 'wrap-bad', rules: 'path "x" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "later"\n}' }));
  assert.is(unparsable.message, 'failed to parse policy: error parsing min_wrapping_ttl: time: invalid duration "later"');
});

test('bodies that are not a JSON object (including non-UTF-8 bytes outside strings) are 400 "error parsing JSON"', async () => {
  for (const body of [Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), Buffer.from('{"a": '), Buffer.from('[1,2]'), Buffer.from('"x"')]) {
    const r = await call('POST', '/v1/secret/data/parity/j', { body, headers: { 'Content-Type': 'application/json' } });
    assert.is(r.status, 400);
    assert.equal(r.body, { errors: ['error parsing JSON'] });
  }
  // Invalid UTF-8 inside a string is replaced with U+FFFD, as Go's decoder does.
  const inString = Buffer.concat([Buffer.from('{"data":{"v":"a'), Buffer.from([0xff]), Buffer.from('b"}}')]);
  assert.is((await call('POST', '/v1/secret/data/parity/u', { body: inString })).status, 200);
  assert.is((await vault.read('secret/data/parity/u')).data.data.v, 'a\uFFFDb');
});

test('a deeply nested policy is 400 with a reason, not 500', async () => {
  const deep = 'path "x" { capabilities = ["read"] allowed_parameters = { "a" = ' + '['.repeat(5000) + ']'.repeat(5000) + ' } }';
  const r = await call('PUT', '/v1/sys/policy/deep', { body: JSON.stringify({ policy: deep }) });
  assert.is(r.status, 400);
  assert.match(r.body.errors[0], /^failed to parse policy: At 1:\d+: nesting deeper than 100 levels$/);
  // hcl's JSON reader skips a `[` inside a list (json/parser listType), so nested lists never nest: Vault stores it.
  const lists = '{"path":{"x":{"capabilities":["read"],"allowed_parameters":{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}}}}';
  assert.is((await call('PUT', '/v1/sys/policy/deep', { body: JSON.stringify({ policy: lists }) })).status, 204);
  const objects = '{"path":{"x":{"capabilities":["read"],"allowed_parameters":{"a":' + '{"b":'.repeat(5000) + '[]' + '}'.repeat(5000) + '}}}}';
  const j = await call('PUT', '/v1/sys/policy/deep', { body: JSON.stringify({ policy: objects }) });
  assert.is(j.status, 400);
  assert.is(j.body.errors[0], 'failed to parse policy: nesting deeper than 100 levels');
  assert.is((await call('GET', '/v1/sys/health')).status, 200);
});

test('PATCH with the wrong Content-Type: 415 with Vault text', async () => {
  const r = await call('PATCH', '/v1/secret/data/parity/a', { body: '{"data":{}}', headers: { 'Content-Type': 'application/json' } });
  assert.is(r.status, 415);
  assert.equal(r.body, { errors: ['PATCH requires Content-Type of application/merge-patch+json, provided application/json'] });
});

test('DELETE carries its parameters in the query string (KV v2 versions=)', async () => {
  await vault.write('secret/data/parity/del', { data: { v: '1' } });
  await vault.write('secret/data/parity/del', { data: { v: '2' } });
  assert.is((await call('DELETE', '/v1/secret/data/parity/del?versions=1')).status, 204);
  const meta = await vault.read('secret/metadata/parity/del');
  assert.ok(meta.data.versions['1'].deletion_time !== '' || meta.data.versions['2'].deletion_time !== '');
});

test('a data file that is a directory is a clear StoreError, not EISDIR', async () => {
  const dir = join(store.home, 'bad-store');
  await openStoreKey(dir, []); // writes the key file
  await mkdir(join(dir, 'store.data'));
  try {
    await (await createStoreServer({ dataDir: dir, port: 0 })).close();
    assert.unreachable('start should fail');
  } catch (err) {
    assert.is((err as Error).name, 'StoreError');
    assert.match((err as Error).message, /store\.data is a directory, not a file; refusing to start$/);
  }
});

test("the store process never inherits the caller's VAULT_TOKEN", () => {
  const env = storeEnv({ PATH: '/bin', VAULT_TOKEN: 'hvs.secret', SECRETFS_VAULT_TOKEN: 'x', VAULT_ADDR: 'http://a' }, '/h');
  assert.equal(env, { PATH: '/bin', VAULT_ADDR: 'http://a', SECRETFS_HOME: '/h' });
});

test.run();
