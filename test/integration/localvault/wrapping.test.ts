import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { storeSuite, vaultClient, vaultError } from '../../helpers/store.js';

const test = suite('localvault response wrapping over HTTP (node-vault)');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WRAP = (ttl: string) => ({ headers: { 'X-Vault-Wrap-TTL': ttl } });
const { store, vault } = storeSuite(test, async (_store, vault) => {
  await vault.write('secret/data/w', { data: { password: 'wrapped-value' } });
});

test('X-Vault-Wrap-TTL on a read: wrap_info only; unwrap with the wrapping token returns the response once', async () => {
  const w = await vault.read('secret/data/w', WRAP('60s'));
  assert.is(w.data, null);
  assert.is(w.auth, null);
  const info = w.wrap_info;
  assert.match(info.token, /^hvs\./);
  assert.is(info.ttl, 60);
  assert.is(info.creation_path, 'secret/data/w');
  assert.ok(info.accessor && info.creation_time);
  const lookup = await vaultClient(store.addr).write('sys/wrapping/lookup', { token: info.token });
  assert.is(lookup.data.creation_path, 'secret/data/w');
  assert.is(lookup.data.creation_ttl, 60);
  const viaQuery = (await (await fetch(`${store.addr}/v1/sys/wrapping/lookup?token=${info.token}`)).json()) as any;
  assert.is(viaQuery.data.creation_path, 'secret/data/w', 'GET with the token in the query');
  const unwrapper = vaultClient(store.addr, info.token);
  const u = await unwrapper.unwrap();
  assert.is(u.data.data.password, 'wrapped-value');
  const again = await vaultError(vaultClient(store.addr, info.token).unwrap());
  assert.is(again.status, 400);
  assert.is(again.message, 'wrapping token is not valid or does not exist');
  assert.is((await vaultError(vaultClient(store.addr).write('sys/wrapping/lookup', { token: info.token }))).status, 400);
});

test('unwrap with another token and the wrapping token in the body', async () => {
  const w = await vault.read('secret/data/w', WRAP('60'));
  const other = (await vault.write('auth/token/create', { policies: ['default'] })).auth.client_token;
  const u = await vaultClient(store.addr, other).unwrap({ token: w.wrap_info.token });
  assert.is(u.data.data.password, 'wrapped-value');
});

test('sending the wrapping token both ways burns it', async () => {
  const w = await vault.read('secret/data/w', WRAP('60s'));
  const e = await vaultError(vaultClient(store.addr, w.wrap_info.token).unwrap({ token: w.wrap_info.token }));
  assert.is(e.status, 400);
  assert.is((await vaultError(vault.unwrap({ token: w.wrap_info.token }))).status, 400);
});

test('TTL is enforced', async () => {
  const w = await vault.read('secret/data/w', WRAP('1s'));
  await sleep(1200);
  const e = await vaultError(vault.unwrap({ token: w.wrap_info.token }));
  assert.is(e.status, 400);
  assert.is(e.message, 'wrapping token is not valid or does not exist');
});

test('wrapping a token creation sets wrapped_accessor; unwrap gives the auth block', async () => {
  const w = await vault.write('auth/token/create', { policies: ['default'], ttl: '10m' }, WRAP('5m'));
  assert.ok(w.wrap_info.wrapped_accessor);
  assert.is(w.auth, null);
  const u = await vault.unwrap({ token: w.wrap_info.token });
  assert.is(u.auth.accessor, w.wrap_info.wrapped_accessor);
  const self = await vaultClient(store.addr, u.auth.client_token).tokenLookupSelf();
  assert.is(self.data.accessor, u.auth.accessor);
});

test('sys/wrapping/wrap wraps arbitrary data and requires a wrap TTL', async () => {
  const w = await vault.write('sys/wrapping/wrap', { k: 'v' }, WRAP('2m'));
  assert.is(w.wrap_info.creation_path, 'sys/wrapping/wrap');
  assert.equal((await vault.unwrap({ token: w.wrap_info.token })).data, { k: 'v' });
  const e = await vaultError(vault.write('sys/wrapping/wrap', { k: 'v' }));
  assert.is(e.status, 400);
  assert.is(e.message, 'endpoint requires response wrapping to be used');
});

test('a wrapping token cannot be used for anything else', async () => {
  const w = await vault.read('secret/data/w', WRAP('60s'));
  const e = await vaultError(vaultClient(store.addr, w.wrap_info.token).read('secret/data/w'));
  assert.is(e.status, 403);
  assert.is((await vaultError(vault.unwrap({ token: w.wrap_info.token }))).status, 400, 'the single use was spent');
});

test('rewrap moves the response to a new token', async () => {
  const w = await vault.read('secret/data/w', WRAP('60s'));
  const r = await vault.write('sys/wrapping/rewrap', { token: w.wrap_info.token });
  assert.ok(r.wrap_info.token !== w.wrap_info.token);
  assert.is((await vault.unwrap({ token: r.wrap_info.token })).data.data.password, 'wrapped-value');
  assert.is((await vaultError(vault.unwrap({ token: w.wrap_info.token }))).status, 400);
});

test.run();
