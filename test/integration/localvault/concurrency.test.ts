import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { storeSuite, vaultClient, vaultError } from '../../helpers/store.js';

const test = suite('localvault concurrency');
const { store, vault } = storeSuite(test);

test('parallel CAS writes to one key: exactly one winner per version', async () => {
  await vault.write('secret/data/race', { options: { cas: 0 }, data: { round: '0' } });
  for (let version = 1; version <= 5; version++) {
    const clients = Array.from({ length: 20 }, () => vaultClient(store.addr, store.rootToken));
    const results = await Promise.allSettled(clients.map((c, i) => c.write('secret/data/race', { options: { cas: version }, data: { round: String(version), writer: String(i) } })));
    const winners = results.filter((r) => r.status === 'fulfilled');
    const losers = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.is(winners.length, 1, `version ${version}: ${winners.length} winners`);
    assert.is((winners[0] as PromiseFulfilledResult<any>).value.data.version, version + 1);
    for (const l of losers) {
      assert.is(l.reason.response.statusCode, 400);
      assert.is(l.reason.message, 'check-and-set parameter did not match the current version');
    }
  }
  const meta = await vault.read('secret/metadata/race');
  assert.is(meta.data.current_version, 6);
});

test('parallel cas=0 creates: one winner', async () => {
  const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => vault.write('secret/data/create-race', { options: { cas: 0 }, data: { i: String(i) } })));
  assert.is(results.filter((r) => r.status === 'fulfilled').length, 1);
});

test('many parallel writes to different keys are all durable and readable after a restart', async () => {
  await Promise.all(Array.from({ length: 200 }, (_, i) => vault.write(`secret/data/bulk/k${i}`, { data: { i: String(i) } })));
  await store.restart();
  const keys = (await vault.list('secret/metadata/bulk')).data.keys;
  assert.is(keys.length, 200);
  assert.is((await vault.read('secret/data/bulk/k199')).data.data.i, '199');
});

test('parallel token uses never exceed num_uses', async () => {
  const t = (await vault.write('auth/token/create', { policies: ['default'], num_uses: 5 })).auth.client_token;
  const c = vaultClient(store.addr, t);
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => c.tokenLookupSelf()));
  assert.is(results.filter((r) => r.status === 'fulfilled').length, 5);
  assert.is((await vaultError(c.tokenLookupSelf())).status, 403);
});

test.run();
