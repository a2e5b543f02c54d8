import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { createTestCli } from '../../helpers/cli-context.js';
import { startTestStore, type TestStore } from '../../helpers/store.js';

/**
 * How many Vault requests the short commands make, from the real store's audit log: a regression
 * shows as a count (`npm run bench` reports the same counts next to its timings). A `get` asks
 * for the KV mount once (remembered for a few seconds in the state dir, for every path in it) and
 * then one read; a `put` to an existing secret one PATCH.
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

/**
 * The audit log's requests (METHOD path) written while `work` ran. No wait at either end: the
 * store writes a request's line before it answers, so the log holds every request answered so far.
 */
async function requestsOf(work: () => Promise<unknown>): Promise<string[]> {
  const from = (await readFile(store.auditLog, 'utf8')).length;
  await work();
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

test('ls: the mount look-up and one request, then the request only; put: the mount look-up and one PATCH, then the PATCH only', async () => {
  // A home of its own: what this test counts does not hang on the mount the test before remembered (30 s).
  const lister = await cliOnStore();
  try {
    const ls = async () => {
      const r = await lister.run(['ls', 'secret/counts']);
      assert.is(r.code, 0, r.stderr);
    };
    assert.equal(await requestsOf(ls), ['GET sys/internal/ui/mounts/secret/counts', 'GET secret/metadata/counts/']);
    assert.equal(await requestsOf(ls), ['GET secret/metadata/counts/']);
  } finally {
    await lister.cleanup();
  }
  // The value comes on stdin, which then ends: a context of its own (and so a mount look-up of its own).
  const writer = await cliOnStore();
  try {
    writer.stdin.end('x');
    const put = async () => {
      const r = await writer.run(['put', 'secret/counts', 'other=-']);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stderr, /stored other at secret\/counts \(version \d+\)/);
    };
    assert.equal(await requestsOf(put), ['GET sys/internal/ui/mounts/secret/counts', 'PATCH secret/data/counts']);
  } finally {
    await writer.cleanup();
  }
  const again = await cliOnStore();
  try {
    again.stdin.end('y');
    // The mount remembered by a get of another path in it; the secret exists: one request.
    assert.is((await again.run(['get', 'secret/counts', 'db-password'])).code, 0);
    assert.equal(await requestsOf(() => again.run(['put', 'secret/counts', 'other=-'])), ['PATCH secret/data/counts']);
    assert.equal((await again.run(['get', 'secret/counts', 'other'])).stdout, 'y');
  } finally {
    await again.cleanup();
  }
});

test('get, ls and put on other paths of a remembered mount ask for no mount again', async () => {
  const user = await cliOnStore();
  try {
    assert.equal(await requestsOf(() => user.run(['get', 'secret/counts', 'db-password'])), ['GET sys/internal/ui/mounts/secret/counts', 'GET secret/data/counts']);
    assert.equal(await requestsOf(() => user.run(['ls', 'secret'])), ['GET secret/metadata/']);
    user.stdin.end('new');
    const put = await requestsOf(async () => assert.is((await user.run(['put', 'secret/counts-new', 'k=-'])).code, 0));
    // A new secret: the PATCH finds none (and changes nothing), then the read and the create.
    assert.equal(put, ['PATCH secret/data/counts-new', 'GET secret/data/counts-new', 'POST secret/data/counts-new']);
    assert.equal((await user.run(['get', 'secret/counts-new', 'k'])).stdout, 'new');
  } finally {
    await user.cleanup();
  }
});

test.run();
