import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { ContainerRef } from '../../../lib/docker/client.js';
import { ChangeWatcher, type ContainerActions, type WatchTarget } from '../../../lib/driver/change-watcher.js';
import { parseChangeOptions } from '../../../lib/driver/change-options.js';
import type { ChangeAuditEntry } from '../../../lib/fs/audit.js';
import { silentLogger } from '../../../lib/log.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, writeSecret, deleteSecret } from '../../../lib/vault/kv.js';
import { startTestStore, type TestStore } from '../../helpers/store.js';

/**
 * The change watcher against the real embedded store over HTTP: one version read per secret per
 * interval however many volumes share it, debounce, KV v1 digests, and back-off while Vault fails.
 * The Docker side is a recorder of the actions asked for (the e2e tests use a real dockerd).
 */
const test = suite('driver/change-watcher (embedded store over HTTP)');

let store: TestStore;
let root: VaultClient;
let watcher: ChangeWatcher | undefined;

interface Recorder extends ContainerActions {
  calls: string[];
}

function recorder(containersOf: (volume: string) => ContainerRef[]): Recorder {
  const calls: string[] = [];
  return {
    calls,
    async ping() {},
    async runningContainersWithVolume(volume) {
      return containersOf(volume);
    },
    async signalContainer(id, signal) {
      calls.push(`${signal} ${id}`);
    },
    async restartContainer(id) {
      calls.push(`restart ${id}`);
    },
  };
}

function target(name: string, path: string, opts: Record<string, string>, invalidated: string[] = []): WatchTarget {
  return { name, path, vault: root, options: parseChangeOptions(opts), invalidate: () => invalidated.push(name) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** The store's audit lines for one request path since `from` (a line count). */
async function auditedReads(path: string, from = 0): Promise<number> {
  const lines = (await readFile(store.auditLog, 'utf8')).split('\n').filter(Boolean).slice(from);
  return lines.map((l) => JSON.parse(l)).filter((r) => r.path === path && r.operation === 'read').length;
}

async function auditLineCount(): Promise<number> {
  return (await readFile(store.auditLog, 'utf8')).split('\n').filter(Boolean).length;
}

test.before(async () => {
  store = await startTestStore();
  root = createVaultClient({ addr: store.addr, token: store.rootToken });
  await root.request('POST', 'sys/mounts/kv1', { body: { type: 'kv', options: { version: '1' } } });
});

test.after.each(() => {
  watcher?.close();
  watcher = undefined;
});

test.after(async () => {
  await store.stop();
});

test('ten volumes on one secret: one metadata read per interval, every volume invalidated and signalled once', async () => {
  const mount = await resolveKvMount(root, 'secret/shared');
  await writeSecret(root, mount, 'secret/shared', { password: 'one' });
  const docker = recorder((v) => [{ id: `id-${v}`, name: `c-${v}` }]);
  const audit: ChangeAuditEntry[] = [];
  watcher = new ChangeWatcher({ docker, audit: { recordChange: (e) => audit.push(e) }, log: silentLogger });
  const invalidated: string[] = [];
  const from = await auditLineCount();
  const started = Date.now();
  for (let i = 0; i < 10; i++) watcher.watch(target(`v${i}`, 'secret/shared', { watch: '500ms', on_change: 'signal:HUP', on_change_debounce: '0' }, invalidated));
  await waitFor('the baseline read', () => watcher!.stats().reads >= 1, 3000);
  await sleep(2600);
  const elapsed = Date.now() - started;
  const reads = await auditedReads('secret/metadata/shared', from);
  // One read at start, then one per 500 ms: about elapsed/500 + 1, never 10 times that.
  assert.ok(reads >= 4 && reads <= Math.floor(elapsed / 500) + 2, `reads ${reads} in ${elapsed} ms`);
  assert.is(watcher.stats().secrets, 1);
  assert.is(watcher.stats().volumes, 10);
  assert.equal(docker.calls, [], 'no change yet, no signal');

  await writeSecret(root, mount, 'secret/shared', { password: 'two' });
  await waitFor('ten signals', () => docker.calls.length === 10, 3000);
  assert.equal(docker.calls.sort(), Array.from({ length: 10 }, (_, i) => `SIGHUP id-v${i}`).sort());
  assert.equal(invalidated.sort(), Array.from({ length: 10 }, (_, i) => `v${i}`).sort());
  assert.equal(
    audit.find((e) => e.volume === 'v3'),
    { volume: 'v3', path: 'secret/shared', oldVersion: '1', newVersion: '2', action: 'signal:HUP', containers: ['c-v3'], result: 'ok' },
  );
  await sleep(1200);
  assert.is(docker.calls.length, 10, 'one change, one signal per volume');
});

test('debounce: three quick writes become one signal carrying the first old and the last new version', async () => {
  const mount = await resolveKvMount(root, 'secret/debounce');
  await writeSecret(root, mount, 'secret/debounce', { k: '1' });
  const docker = recorder(() => [{ id: 'c1', name: 'app' }]);
  const audit: ChangeAuditEntry[] = [];
  watcher = new ChangeWatcher({ docker, audit: { recordChange: (e) => audit.push(e) }, log: silentLogger });
  watcher.watch(target('d', 'secret/debounce', { watch: '500ms', on_change: 'restart', on_change_debounce: '2s' }));
  await waitFor('the baseline read', () => watcher!.stats().reads >= 1, 3000);
  await sleep(100);
  const wrote = Date.now();
  for (const v of ['2', '3', '4']) {
    await writeSecret(root, mount, 'secret/debounce', { k: v });
    await sleep(300);
  }
  await waitFor('the restart', () => docker.calls.length === 1, 4000);
  const latency = Date.now() - wrote;
  assert.ok(latency >= 2000 && latency <= 500 + 2000 + 1000, `acted ${latency} ms after the first write`);
  await sleep(2500);
  assert.equal(docker.calls, ['restart c1']);
  assert.equal(audit.map((e) => [e.oldVersion, e.newVersion, e.action, e.result]), [['1', '4', 'restart', 'ok']]);
});

test('KV v1: a change of content is a change (a keyed digest, never the value); the same content is not', async () => {
  const mount = await resolveKvMount(root, 'kv1/app');
  assert.is(mount.version, 1);
  await writeSecret(root, mount, 'kv1/app', { password: 'alpha' });
  const docker = recorder(() => [{ id: 'c1', name: 'app' }]);
  const audit: ChangeAuditEntry[] = [];
  watcher = new ChangeWatcher({ docker, audit: { recordChange: (e) => audit.push(e) }, log: silentLogger });
  watcher.watch(target('k', 'kv1/app', { watch: '500ms', on_change: 'signal:USR1', on_change_debounce: '0' }));
  await waitFor('the baseline read', () => watcher!.stats().reads >= 1, 3000);
  await writeSecret(root, mount, 'kv1/app', { password: 'alpha' });
  await sleep(1200);
  assert.equal(docker.calls, [], 'rewriting the same content is no change');
  await writeSecret(root, mount, 'kv1/app', { password: 'beta' });
  await waitFor('the signal', () => docker.calls.length === 1, 3000);
  assert.equal(docker.calls, ['SIGUSR1 c1']);
  assert.match(audit[0].oldVersion, /^h:[0-9a-f]{16}$/);
  assert.match(audit[0].newVersion, /^h:[0-9a-f]{16}$/);
  assert.is.not(audit[0].oldVersion, audit[0].newVersion);
  assert.not.ok(JSON.stringify(audit).includes('alpha') || JSON.stringify(audit).includes('beta'));
  await deleteSecret(root, mount, 'kv1/app');
  await waitFor('the delete signal', () => docker.calls.length === 2, 3000);
  assert.is(audit[1].newVersion, 'absent');
});

test('Vault failing (503 on every request): no signal, reads back off; after it answers again a real change signals', async () => {
  const mount = await resolveKvMount(root, 'secret/outage');
  await writeSecret(root, mount, 'secret/outage', { k: '1' });
  // A Vault that fails is a Vault that answers 503 (sealed, standby): a proxy in front of the store
  // answers 503 while `down`, forwards otherwise, and counts what reaches it.
  let down = false;
  let failedRequests = 0;
  const proxy: Server = createServer(async (req, res) => {
    if (down) {
      failedRequests++;
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":["Vault is sealed"]}');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const upstream = await fetch(store.addr + req.url, { method: req.method, headers: req.headers as Record<string, string>, body: chunks.length ? Buffer.concat(chunks) : undefined });
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const port = (proxy.address() as { port: number }).port;
  try {
    const viaProxy = createVaultClient({ addr: `http://127.0.0.1:${port}`, token: store.rootToken, timeoutMs: 1000 });
    const docker = recorder(() => [{ id: 'c1', name: 'app' }]);
    watcher = new ChangeWatcher({ docker, audit: { recordChange: () => {} }, log: silentLogger, maxBackoffMs: 4000 });
    watcher.watch({ ...target('o', 'secret/outage', { watch: '500ms', on_change: 'signal:HUP', on_change_debounce: '0' }), vault: viaProxy });
    await waitFor('the baseline read', () => watcher!.stats().reads >= 1, 3000);
    down = true;
    await sleep(6000);
    // Without back-off: 12 reads in 6 s. With it: 0.5+1+2+4 s between reads -> at most 4 or 5.
    assert.ok(failedRequests >= 2 && failedRequests <= 5, `${failedRequests} requests reached the failing Vault in 6 s`);
    assert.equal(docker.calls, [], 'a failed read is never a change');
    down = false;
    const readsBefore = watcher.stats().reads;
    await waitFor('reads to resume', () => watcher!.stats().reads > readsBefore + 1, 6000);
    assert.equal(docker.calls, [], 'Vault coming back with the same version is no change');
    await writeSecret(root, mount, 'secret/outage', { k: '2' });
    await waitFor('the signal', () => docker.calls.length === 1, 3000);
  } finally {
    await new Promise<void>((r) => proxy.close(() => r()));
  }
});

test('unwatch drops a pending action; the last volume of a secret stops its reads', async () => {
  const mount = await resolveKvMount(root, 'secret/gone');
  await writeSecret(root, mount, 'secret/gone', { k: '1' });
  const docker = recorder(() => [{ id: 'c1', name: 'app' }]);
  watcher = new ChangeWatcher({ docker, audit: { recordChange: () => {} }, log: silentLogger });
  watcher.watch(target('g', 'secret/gone', { watch: '500ms', on_change: 'signal:HUP', on_change_debounce: '1s' }));
  await waitFor('the baseline read', () => watcher!.stats().reads >= 1, 3000);
  await writeSecret(root, mount, 'secret/gone', { k: '2' });
  await waitFor('the change', () => watcher!.stats().changes === 1, 3000);
  watcher.unwatch('g');
  const reads = watcher.stats().reads;
  await sleep(1500);
  assert.equal(docker.calls, []);
  assert.is(watcher.stats().reads, reads);
  assert.is(watcher.stats().secrets, 0);
});

test('checkDockerAccess: no engine, or one that does not answer, is a clear refusal', async () => {
  const none = new ChangeWatcher({ audit: { recordChange: () => {} }, log: silentLogger });
  try {
    await none.checkDockerAccess();
    assert.unreachable('should refuse');
  } catch (err) {
    assert.is((err as Error).message, 'on_change is set, but this driver has no access to the Docker engine');
  }
  const broken = new ChangeWatcher({
    docker: { ...recorder(() => []), ping: () => Promise.reject(new Error('cannot reach the Docker engine (EACCES)')) },
    audit: { recordChange: () => {} },
    log: silentLogger,
  });
  try {
    await broken.checkDockerAccess();
    assert.unreachable('should refuse');
  } catch (err) {
    assert.is((err as Error).message, 'on_change is set, but this driver has no access to the Docker engine: cannot reach the Docker engine (EACCES)');
  }
});

test('the action waits at least settleMs (the kernel attribute cache) after the change is seen, also with debounce 0', async () => {
  const mount = await resolveKvMount(root, 'secret/settle');
  await writeSecret(root, mount, 'secret/settle', { k: '1' });
  const times: number[] = [];
  const docker = { ...recorder(() => [{ id: 'c1', name: 'app' }]), signalContainer: async () => void times.push(Date.now()) };
  watcher = new ChangeWatcher({ docker, audit: { recordChange: () => {} }, log: silentLogger });
  let seenAt = 0;
  watcher.watch({ ...target('s', 'secret/settle', { watch: '500ms', on_change: 'signal:HUP', on_change_debounce: '0' }), invalidate: () => (seenAt = Date.now()), settleMs: 1000 });
  await waitFor('the baseline read', () => watcher!.stats().reads >= 1, 3000);
  await writeSecret(root, mount, 'secret/settle', { k: '2' });
  await waitFor('the signal', () => times.length === 1, 4000);
  assert.ok(seenAt > 0 && times[0] - seenAt >= 990, `signalled ${times[0] - seenAt} ms after the change was seen`);
});

test.run();
