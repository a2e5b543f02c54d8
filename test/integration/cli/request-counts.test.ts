import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { createTestCli } from '../../helpers/cli-context.js';
import { startTestStore, type TestStore } from '../../helpers/store.js';

/**
 * How many Vault requests the short commands make, from the real store's audit log: a regression
 * shows as a count (`npm run bench` reports the same counts next to its timings). A `get` asks
 * for the KV mount once (remembered for a few seconds in the state dir) and then one read.
 */
const test = suite('integration/cli: Vault requests per command (the store\'s audit log)');
let store: TestStore;
let cli: Awaited<ReturnType<typeof createTestCli>>;

/** A CLI context of its own (home, stdin) against the store. */
const cliOnStore = () => createTestCli({ env: { VAULT_ADDR: store.addr, VAULT_TOKEN: store.rootToken } });

test.before(async () => {
  store = await startTestStore();
  const seeded = await fetch(`${store.addr}/v1/secret/data/counts`, { method: 'POST', headers: { 'X-Vault-Token': store.rootToken }, body: JSON.stringify({ data: { 'db-password': 'pw' } }) });
  assert.is(seeded.status, 200);
  cli = await cliOnStore();
});

test.after(async () => {
  await cli?.cleanup();
  await store?.stop();
});

/** The audit log's requests (METHOD path) written while `work` ran, once the log stops growing. */
async function requestsOf(work: () => Promise<unknown>): Promise<string[]> {
  const size = async () => (await readFile(store.auditLog, 'utf8').catch(() => '')).length;
  const from = await size();
  await work();
  let last = -1;
  for (let i = 0; i < 20 && (await size()) !== last; i++) {
    last = await size();
    await new Promise((r) => setTimeout(r, 50));
  }
  const text = (await readFile(store.auditLog, 'utf8')).slice(from);
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { method?: string; path?: string })
    .map((r) => `${r.method} ${r.path}`);
}

test('get PATH KEY: the KV mount look-up and one read; then only the read while the mount is remembered', async () => {
  const get = async () => {
    const r = await cli.run(['get', 'secret/counts', 'db-password']);
    assert.equal([r.code, r.stdout], [0, 'pw'], r.stderr);
  };
  assert.equal(await requestsOf(get), ['GET sys/internal/ui/mounts/secret/counts', 'GET secret/data/counts']);
  assert.equal(await requestsOf(get), ['GET secret/data/counts']);
  assert.equal(await requestsOf(get), ['GET secret/data/counts']);
});

test('ls: one request once the mount is remembered; put: the current version, then the write', async () => {
  assert.equal(await requestsOf(() => cli.run(['ls', 'secret/counts'])), ['GET secret/metadata/counts/']);
  // The value comes on stdin, which then ends: a context of its own (and so a mount look-up of its own).
  const writer = await cliOnStore();
  try {
    writer.stdin.end('x');
    const put = async () => assert.is((await writer.run(['put', 'secret/counts', 'other=-'])).code, 0);
    assert.equal(await requestsOf(put), ['GET sys/internal/ui/mounts/secret/counts', 'GET secret/data/counts', 'POST secret/data/counts']);
  } finally {
    await writer.cleanup();
  }
});

test.run();
