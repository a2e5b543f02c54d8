import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestStoreProcess, vaultClient, vaultError, type TestStore } from '../../helpers/store.js';
import { resolvePaths } from '../../../lib/paths.js';
import { LISTENER_FILE } from '../../../lib/localvault/listener-config.js';

/**
 * The store as a hostile or unlucky client meets it, on a real store process over HTTP with real
 * files: limits refuse before anything is applied, a write that is not durable is not applied,
 * `kill -9` loses no acknowledged write, slow clients are dropped within the listener's timeouts.
 */
const test = suite('localvault durability, limits and slow clients');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A new SECRETFS_HOME whose store directory holds a listener.json with these settings. */
async function homeWithListener(settings: Record<string, unknown>, parent = tmpdir()): Promise<string> {
  const home = await mkdtemp(join(parent, 'lv-dur-'));
  const storeDir = resolvePaths({ SECRETFS_HOME: home }).storeDir;
  await mkdir(storeDir, { recursive: true, mode: 0o700 });
  await writeFile(join(storeDir, LISTENER_FILE), JSON.stringify(settings), { mode: 0o600 });
  return home;
}

async function api(store: TestStore, method: string, path: string, token: string, body?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${store.addr}/v1/${path}`, { method, headers: { 'X-Vault-Token': token }, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

function nested(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

test('a deeply nested body is 400 with Vault\'s text, changes nothing, and the next write and every later save work', async () => {
  const store = await startTestStoreProcess();
  try {
    const root = vaultClient(store.addr, store.rootToken);
    const token = (await root.write('auth/token/create', { policies: ['default'] })).auth.client_token;
    for (const depth of [3000, 5000]) {
      const r = await api(store, 'POST', 'cubbyhole/deep', token, `{"v":${nested(depth)}}`);
      assert.equal(r, { status: 400, json: { errors: ['JSON input exceeds allowed nesting depth'] } });
    }
    assert.is((await api(store, 'LIST', 'cubbyhole/', token)).status, 404, 'no phantom key');
    const ok = await api(store, 'POST', 'cubbyhole/fine', token, `{"v":${nested(490)}}`);
    assert.is(ok.status, 204);
    await root.write('secret/data/after', { data: { v: 'saved' } });
    await root.write('sys/policies/acl/after', { policy: 'path "x" { capabilities = ["read"] }' });
    await store.restart();
    assert.is((await root.read('secret/data/after')).data.data.v, 'saved');
    assert.equal((await api(store, 'LIST', 'cubbyhole/', token)).json.data.keys, ['fine']);
  } finally {
    await store.stop();
  }
});

test('over-long strings, too many entries or elements: 400 with Vault\'s texts, nothing stored; the limits come from listener.json', async () => {
  const home = await homeWithListener({ max_json_string_value_length: 1000, max_json_object_entry_count: 50, max_json_array_element_count: 20 });
  const store = await startTestStoreProcess({ home });
  try {
    const cases: Array<[unknown, string]> = [
      [{ data: { v: 'x'.repeat(1001) } }, 'JSON string value exceeds allowed length'],
      [{ data: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, 'JSON object exceeds allowed entry count'],
      [{ data: { v: Array.from({ length: 21 }, () => 1) } }, 'JSON array exceeds allowed element count'],
    ];
    for (const [body, error] of cases) {
      assert.equal(await api(store, 'POST', 'secret/data/limited', store.rootToken, JSON.stringify(body)), { status: 400, json: { errors: [error] } });
    }
    assert.is((await api(store, 'GET', 'secret/data/limited', store.rootToken)).status, 404);
    assert.is((await api(store, 'POST', 'secret/data/limited', store.rootToken, JSON.stringify({ data: { v: 'x'.repeat(1000) } }))).status, 200);
  } finally {
    await store.stop();
    await rm(home, { recursive: true, force: true });
  }
});

test('a large body without a valid token is refused (403) before it is buffered; with a token it is 413 past max_request_size', async () => {
  const store = await startTestStoreProcess();
  try {
    const url = new URL(store.addr);
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(Number(url.port), url.hostname, () => {
        // Only the head is sent: the answer must come without the 31 MiB the head announces.
        sock.write(`POST /v1/secret/data/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${31 * 1024 * 1024}\r\n\r\n{"data":{"v":"`);
      });
      let data = '';
      sock.on('data', (c) => (data += c));
      sock.on('close', () => resolve(data));
      sock.on('error', reject);
      setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref();
    });
    assert.match(answer, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.ok(answer.endsWith('{"errors":["permission denied"]}\n'), answer);
    const big = JSON.stringify({ data: { v: 'x'.repeat(33 * 1024 * 1024) } });
    let status = 0;
    try {
      status = (await api(store, 'POST', 'secret/data/big', store.rootToken, big)).status;
    } catch {
      status = 413; // the server may close while the client still sends
    }
    assert.is(status, 413);
    assert.is((await api(store, 'GET', 'sys/health', '')).status, 200);
  } finally {
    await store.stop();
  }
});

test('ENOSPC (a 2 MiB tmpfs): the failed write answers 500, is not readable, and is not there after a restart', async () => {
  const mnt = await mkdtemp(join(tmpdir(), 'lv-enospc-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mnt]);
  let store: TestStore | undefined;
  try {
    const home = join(mnt, 'home');
    store = await startTestStoreProcess({ home });
    const acked: string[] = [];
    let failed: { name: string; status: number; json: any } | undefined;
    for (let i = 0; i < 200 && !failed; i++) {
      const name = `fill-${i}`;
      const r = await api(store, 'POST', `secret/data/${name}`, store.rootToken, JSON.stringify({ data: { v: `${name}:` + 'z'.repeat(60_000) } }));
      if (r.status === 200) acked.push(name);
      else failed = { name, ...r };
    }
    assert.ok(failed, 'the disk filled up');
    assert.equal({ status: failed!.status, json: failed!.json }, { status: 500, json: { errors: ['1 error occurred:\n\t* failed to persist the change to storage\n\n'] } });
    assert.is((await api(store, 'GET', `secret/data/${failed!.name}`, store.rootToken)).status, 404, 'the failed write is not served');
    assert.ok(acked.length > 0);
    await store.restart();
    assert.is((await api(store, 'GET', `secret/data/${failed!.name}`, store.rootToken)).status, 404, 'nor stored');
    for (const name of [acked[0], acked[acked.length - 1]]) {
      const r = await api(store, 'GET', `secret/data/${name}`, store.rootToken);
      assert.ok(r.json.data.data.v.startsWith(`${name}:`), `${name} kept`);
    }
  } finally {
    await store?.stop();
    execFileSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  }
});

test('kill -9 during concurrent writes: every acknowledged write is there after a restart, and no temp file is left', async () => {
  const store = await startTestStoreProcess();
  try {
    const acked = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const name = `r${round}-w${w}-${i}`;
          try {
            const r = await api(store, 'POST', `secret/data/${name}`, store.rootToken, JSON.stringify({ data: { v: name } }));
            if (r.status === 200) acked.set(name, name);
          } catch {
            return; // the store died under this request: not acknowledged
          }
        }
      };
      const writers = Array.from({ length: 4 }, (_, w) => writer(w));
      await sleep(300 + round * 150);
      process.kill(store.pid, 'SIGKILL');
      stop = true;
      await Promise.all(writers);
      await store.restart();
    }
    assert.ok(acked.size >= 30, `enough writes were acknowledged (${acked.size})`);
    for (const [name, value] of acked) {
      const r = await api(store, 'GET', `secret/data/${name}`, store.rootToken);
      assert.is(r.status, 200, `${name} was acknowledged but is lost`);
      assert.is(r.json.data.data.v, value);
    }
    assert.equal((await readdir(store.dataDir)).filter((f) => f.endsWith('.tmp')), []);
  } finally {
    await store.stop();
  }
});

/** Opens a connection, sends `bytes`, and resolves with what came back and how long until it closed. */
function hold(addr: string, bytes: string, capMs = 8000): Promise<{ ms: number; data: string }> {
  const url = new URL(addr);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const sock = net.connect(Number(url.port), url.hostname, () => {
      if (bytes) sock.write(bytes);
    });
    let data = '';
    sock.on('data', (c) => (data += c));
    sock.on('close', () => resolve({ ms: Date.now() - started, data }));
    sock.on('error', () => {});
    setTimeout(() => {
      sock.destroy();
      reject(new Error(`still open after ${capMs} ms: ${JSON.stringify(bytes.slice(0, 40))}`));
    }, capMs).unref();
  });
}

test('slow clients are dropped within the timeouts: idle, half a head, half a body, idle keep-alive; bare LF is refused at once', async () => {
  const home = await homeWithListener({ http_read_header_timeout: '500ms', http_read_timeout: '1500ms', http_idle_timeout: '1s' });
  const store = await startTestStoreProcess({ home });
  try {
    const [idle, halfHead, halfBody, bareLf, keepAlive] = await Promise.all([
      hold(store.addr, ''),
      hold(store.addr, 'GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n'),
      hold(store.addr, `POST /v1/sys/wrapping/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"token":`),
      hold(store.addr, 'GET /v1/sys/health HTTP/1.1\nHost: x\n\n'),
      hold(store.addr, 'GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n'),
    ]);
    assert.ok(idle.ms < 3000, `idle connection held ${idle.ms} ms`);
    assert.ok(halfHead.ms < 3000, `half a head held ${halfHead.ms} ms`);
    assert.match(halfHead.data, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(halfBody.ms >= 1000 && halfBody.ms < 4000, `half a body held ${halfBody.ms} ms`);
    assert.ok(bareLf.ms < 1000, `bare LF held ${bareLf.ms} ms`);
    assert.match(bareLf.data, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(keepAlive.data, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(keepAlive.ms >= 800 && keepAlive.ms < 4000, `idle keep-alive held ${keepAlive.ms} ms`);
    assert.is((await api(store, 'GET', 'sys/health', '')).status, 200, 'the store still serves');
  } finally {
    await store.stop();
    await rm(home, { recursive: true, force: true });
  }
});

test('open connections beyond max_connections are refused; the store serves again once they close', async () => {
  const home = await homeWithListener({ max_connections: 5 });
  const store = await startTestStoreProcess({ home });
  const url = new URL(store.addr);
  const socks: net.Socket[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const s = net.connect(Number(url.port), url.hostname);
      await new Promise((r) => s.once('connect', r));
      socks.push(s);
    }
    const refused = await hold(store.addr, 'GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
    assert.is(refused.data, '', 'the sixth connection is closed without an answer');
    for (const s of socks) s.destroy();
    await sleep(100);
    assert.is((await api(store, 'GET', 'sys/health', '')).status, 200);
  } finally {
    for (const s of socks) s.destroy();
    await store.stop();
    await rm(home, { recursive: true, force: true });
  }
});


test('server compact: the running store copies itself while it serves and commits; the file shrinks; a stopped store is compacted in place', async () => {
  const home = await mkdtemp(join(tmpdir(), 'lv-compact-'));
  const store = await startTestStoreProcess({ home });
  try {
    const root = vaultClient(store.addr, store.rootToken);
    const filler = 'f'.repeat(8000);
    for (let i = 0; i < 150; i++) await api(store, 'POST', `secret/data/gone-${i}`, store.rootToken, JSON.stringify({ data: { v: filler } }));
    for (let i = 0; i < 150; i++) await api(store, 'DELETE', `secret/metadata/gone-${i}`, store.rootToken);
    await root.write('secret/data/kept', { data: { v: 'kept' } });
    let serving = true;
    let reads = 0;
    let writes = 0;
    const reader = (async () => {
      while (serving) {
        assert.is((await api(store, 'GET', 'secret/data/kept', store.rootToken)).status, 200);
        reads++;
        assert.is((await api(store, 'POST', `secret/data/during-${writes}`, store.rootToken, JSON.stringify({ data: { v: String(writes) } }))).status, 200);
        writes++;
      }
    })();
    const { compactStore } = await import('../../../lib/localvault/process.js');
    const online = await compactStore(store.paths);
    serving = false;
    await reader;
    assert.is(online.online, true);
    assert.ok(online.bytesAfter < online.bytesBefore / 2, `${online.bytesBefore} -> ${online.bytesAfter}`);
    assert.ok(reads > 0, 'the store answered while it compacted');
    // Writes committed during the copy are in the copy.
    await store.restart();
    for (let i = 0; i < writes; i++) assert.is((await root.read(`secret/data/during-${i}`)).data.data.v, String(i));
    assert.is((await api(store, 'GET', 'secret/data/gone-7', store.rootToken)).status, 404);
    await store.stop();
    const offline = await compactStore(store.paths);
    assert.is(offline.online, false);
    assert.ok(offline.records >= online.records, 'every record is still there');
  } finally {
    await store.stop();
    await rm(home, { recursive: true, force: true });
  }
});

test.run();
