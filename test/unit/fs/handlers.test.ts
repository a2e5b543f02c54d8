import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FuseStat } from 'fuse-native';
import type { AuditEntry } from '../../../lib/fs/audit.js';
import { Errno } from '../../../lib/fs/errno.js';
import { createHandlers, type SecretFsHandlers } from '../../../lib/fs/handlers.js';
import { MemorySource } from '../../helpers/memory-source.js';
import { parseFsOptions } from '../../../lib/fs/options.js';
import { createSecretStore } from '../../../lib/fs/store.js';

const { ENOENT, EIO, EACCES, EISDIR, EROFS } = Errno;

function setup(opts: Record<string, string> = {}, secrets: Record<string, Record<string, unknown>> = APP) {
  const source = new MemorySource('secret/app-1', secrets);
  const options = parseFsOptions(opts);
  const store = createSecretStore(source, { cacheTtlMs: options.cacheTtlMs, staleIfErrorMs: options.staleIfErrorMs, timeoutMs: 200 });
  const audit: AuditEntry[] = [];
  const h = createHandlers(store, options, { audit: { record: (e) => audit.push(e), close: async () => {} }, mountName: 'vol1', opTimeoutMs: 1000 });
  return { source, store, h, audit, options };
}

const APP = { '': { 'db-password': 's3cr3t', port: 5432, tls: { ca: '...' } }, db: { user: 'app' }, 'db/replica': { host: 'r1' } };

function getattr(h: SecretFsHandlers, path: string): Promise<{ code: number; stat?: FuseStat }> {
  return new Promise((resolve) => h.getattr!(path, (code, stat) => resolve({ code, stat })));
}
function readdir(h: SecretFsHandlers, path: string): Promise<{ code: number; names?: string[] }> {
  return new Promise((resolve) => h.readdir!(path, (code, names) => resolve({ code, names })));
}
function open(h: SecretFsHandlers, path: string, flags = 0): Promise<{ code: number; fd?: number }> {
  return new Promise((resolve) => h.open!(path, flags, (code, fd) => resolve({ code, fd })));
}
function read(h: SecretFsHandlers, fd: number, len: number, pos: number): Promise<{ code: number; data: Buffer }> {
  const buf = Buffer.alloc(len);
  return new Promise((resolve) => h.read!('/', fd, buf, len, pos, (n) => resolve({ code: n, data: buf.subarray(0, Math.max(n, 0)) })));
}
function release(h: SecretFsHandlers, fd: number): Promise<number> {
  return new Promise((resolve) => h.release!('/', fd, (code) => resolve(code)));
}
async function cat(h: SecretFsHandlers, path: string): Promise<Buffer> {
  const o = await open(h, path);
  assert.is(o.code, 0, `open ${path}`);
  const chunks: Buffer[] = [];
  for (let pos = 0; ; ) {
    const r = await read(h, o.fd!, 4096, pos);
    if (r.code <= 0) break;
    chunks.push(Buffer.from(r.data));
    pos += r.code;
  }
  await release(h, o.fd!);
  return Buffer.concat(chunks);
}

const test = suite('fs/handlers');

test('each key is a file with exactly its bytes; non-strings are JSON', async () => {
  const { h } = setup();
  assert.is((await cat(h, '/db-password')).toString(), 's3cr3t');
  assert.is((await cat(h, '/port')).toString(), '5432');
  assert.is((await cat(h, '/tls')).toString(), '{"ca":"..."}');
});

test('getattr: modes, owner and sizes match the contents', async () => {
  const { h } = setup({ uid: '1000', gid: '1001', mode: '0440', dir_mode: '0550' });
  const root = await getattr(h, '/');
  assert.is(root.code, 0);
  assert.is(root.stat!.mode, 0o040550);
  const f = await getattr(h, '/db-password');
  assert.is(f.stat!.mode, 0o100440);
  assert.is(f.stat!.uid, 1000);
  assert.is(f.stat!.gid, 1001);
  assert.is(f.stat!.size, 6);
  assert.is((await getattr(h, '/tls')).stat!.size, '{"ca":"..."}'.length);
  assert.is((await getattr(h, '/db')).stat!.mode, 0o040550);
});

test('readdir lists keys, views and sub-paths; sub-paths hold their own keys', async () => {
  const { h } = setup();
  const r = await readdir(h, '/');
  assert.is(r.code, 0);
  assert.equal(r.names!.sort(), ['.', '..', '.secretfs.env', '.secretfs.json', '.secretfs.version', 'db', 'db-password', 'port', 'tls'].sort());
  assert.equal((await readdir(h, '/db')).names!.sort(), ['.', '..', '.secretfs.env', '.secretfs.json', '.secretfs.version', 'replica', 'user'].sort());
  assert.is((await cat(h, '/db/user')).toString(), 'app');
  assert.is((await cat(h, '/db/replica/host')).toString(), 'r1');
});

test('hidden listing: readdir shows nothing, files still open by name', async () => {
  const { h } = setup({ listing: 'hidden' });
  assert.equal((await readdir(h, '/')).names, ['.', '..']);
  assert.is((await cat(h, '/db-password')).toString(), 's3cr3t');
  assert.is((await cat(h, '/db/user')).toString(), 'app');
});

test('views: the whole secret as JSON and as .env', async () => {
  const { h } = setup();
  assert.equal(JSON.parse((await cat(h, '/.secretfs.json')).toString()), APP['']);
  assert.is((await cat(h, '/.secretfs.env')).toString(), 'db_password="s3cr3t"\nport="5432"\ntls="{\\"ca\\":\\"...\\"}"\n');
});

test('a key named like a view wins; the view is not served there', async () => {
  const { h } = setup({}, { '': { '.secretfs.json': 'mine', other: 'x' } });
  assert.is((await cat(h, '/.secretfs.json')).toString(), 'mine');
  const names = (await readdir(h, '/')).names!;
  assert.is(names.filter((n) => n === '.secretfs.json').length, 1);
  assert.match((await cat(h, '/.secretfs.env')).toString(), /other="x"/);
});

test('a key wins over a sub-path of the same name', async () => {
  const { h } = setup({}, { '': { db: 'key-value' }, 'db/x': { y: 'z' } });
  assert.is((await cat(h, '/db')).toString(), 'key-value');
  assert.is((await getattr(h, '/db/x')).code, -20);
});

test('missing names are ENOENT; a directory cannot be opened as a file', async () => {
  const { h } = setup();
  assert.is((await getattr(h, '/nope')).code, ENOENT);
  assert.is((await open(h, '/nope')).code, ENOENT);
  assert.is((await getattr(h, '/db/nope')).code, ENOENT);
  assert.is((await getattr(h, '/nope/deeper')).code, ENOENT);
  assert.is((await open(h, '/db')).code, EISDIR);
});

test('forbidden is EACCES; unreachable, timeout and 5xx are EIO', async () => {
  for (const [failure, errno] of [['forbidden', EACCES], ['unreachable', EIO], ['timeout', EIO], ['server', EIO]] as const) {
    const { h, source } = setup();
    source.fail(failure);
    assert.is((await getattr(h, '/db-password')).code, errno, failure);
    assert.is((await open(h, '/db-password')).code, errno, failure);
    assert.is((await readdir(h, '/')).code, errno, failure);
  }
});

test('a hanging Vault still answers within the bounds (EIO)', async () => {
  const { h, source } = setup();
  source.delayMs = 5000;
  const started = Date.now();
  assert.is((await getattr(h, '/db-password')).code, EIO);
  assert.ok(Date.now() - started < 1000);
});

test('one open sees one version, a new open after cache_ttl sees the rotation', async () => {
  const { h, source } = setup({ cache_ttl: '50ms' });
  const o = await open(h, '/db-password');
  const first = await read(h, o.fd!, 3, 0);
  assert.is(first.data.toString(), 's3c');
  source.put('', { ...APP[''], 'db-password': 'rotated-value' });
  await new Promise((r) => setTimeout(r, 60));
  const rest = await read(h, o.fd!, 100, 3);
  assert.is(rest.data.toString(), 'r3t');
  await release(h, o.fd!);
  assert.is((await cat(h, '/db-password')).toString(), 'rotated-value');
  assert.is((await getattr(h, '/db-password')).stat!.size, 'rotated-value'.length);
});

test('stale_if_error serves the last good value on EIO, never after a 403', async () => {
  const { h, source, audit } = setup({ cache_ttl: '20ms', stale_if_error: '1m' });
  assert.is((await cat(h, '/db-password')).toString(), 's3cr3t');
  source.fail('unreachable');
  await new Promise((r) => setTimeout(r, 30));
  assert.is((await cat(h, '/db-password')).toString(), 's3cr3t');
  assert.is(audit[audit.length - 1].result, 'stale');
  source.fail('forbidden');
  await new Promise((r) => setTimeout(r, 30));
  assert.is((await open(h, '/db-password')).code, EACCES);
  source.fail('unreachable');
  await new Promise((r) => setTimeout(r, 30));
  assert.is((await open(h, '/db-password')).code, EIO);
});

test('encoding=base64 serves binary values; 1 MiB values read in pieces', async () => {
  const big = Buffer.alloc(1024 * 1024 + 7);
  for (let i = 0; i < big.length; i++) big[i] = (i * 131) % 256;
  const { h } = setup({ encoding: 'base64' }, { '': { bin: big.toString('base64') } });
  assert.is((await getattr(h, '/bin')).stat!.size, big.length);
  assert.ok((await cat(h, '/bin')).equals(big));
});

test('encoding=base64: a value that is not base64 opens as EIO and is audited so', async () => {
  const { h, audit } = setup({ encoding: 'base64' }, { '': { bad: 'not base64!' } });
  assert.is((await getattr(h, '/bad')).code, EIO);
  assert.is((await open(h, '/bad')).code, EIO);
  assert.equal(audit.map((e) => e.result), ['EIO']);
});

test('unicode keys are file names', async () => {
  const { h } = setup({}, { '': { 'пароль-🔑': 'ü' } });
  assert.ok((await readdir(h, '/')).names!.includes('пароль-🔑'));
  assert.is((await cat(h, '/пароль-🔑')).toString(), 'ü');
});

test('every write operation answers EROFS', async () => {
  const { h } = setup();
  const results: Record<string, number> = {};
  const call = (name: string, fn: (done: (code: number) => void) => void) =>
    new Promise<void>((resolve) => fn((code) => { results[name] = code; resolve(); }));
  await call('write', (d) => h.write!('/db-password', 1, Buffer.from('x'), 1, 0, d));
  await call('create', (d) => h.create!('/new', 0o644, d));
  await call('unlink', (d) => h.unlink!('/db-password', d));
  await call('rename', (d) => h.rename!('/db-password', '/x', d));
  await call('link', (d) => h.link!('/db-password', '/x', d));
  await call('symlink', (d) => h.symlink!('/db-password', '/x', d));
  await call('mkdir', (d) => h.mkdir!('/d', 0o755, d));
  await call('rmdir', (d) => h.rmdir!('/db', d));
  await call('chmod', (d) => h.chmod!('/db-password', 0o777, d));
  await call('chown', (d) => h.chown!('/db-password', 1, 1, d));
  await call('truncate', (d) => h.truncate!('/db-password', 0, d));
  await call('ftruncate', (d) => h.ftruncate!('/db-password', 1, 0, d));
  await call('utimens', (d) => h.utimens!('/db-password', 0, 0, d));
  await call('mknod', (d) => h.mknod!('/n', 0o644, 0, d));
  await call('setxattr', (d) => h.setxattr!('/db-password', 'user.x', Buffer.from('1'), 0, 0, d));
  await call('removexattr', (d) => h.removexattr!('/db-password', 'user.x', d));
  await call('open-for-write', (d) => h.open!('/db-password', 1, (code) => d(code)));
  await call('open-rdwr', (d) => h.open!('/db-password', 2, (code) => d(code)));
  await call('open-trunc', (d) => h.open!('/db-password', 0o1000, (code) => d(code)));
  for (const [name, code] of Object.entries(results)) assert.is(code, EROFS, name);
  assert.is(Object.keys(results).length, 19);
});

test('each open is audited with mount, path, key, version and result, never the value', async () => {
  const { h, audit } = setup();
  await cat(h, '/db-password');
  await open(h, '/nope');
  await cat(h, '/db/user');
  assert.equal(audit[0], { mount: 'vol1', path: 'secret/app-1', key: 'db-password', version: 1, result: 'ok' });
  assert.equal(audit[1], { mount: 'vol1', path: 'secret/app-1', key: 'nope', version: undefined, result: 'ENOENT' });
  assert.equal(audit[2], { mount: 'vol1', path: 'secret/app-1/db', key: 'user', version: 1, result: 'ok' });
  assert.not.match(JSON.stringify(audit), /s3cr3t/);
});

test('100 concurrent opens of an uncached secret: one source read; released files are freed', async () => {
  const { h, source } = setup();
  source.delayMs = 20;
  const opens = await Promise.all(Array.from({ length: 100 }, () => open(h, '/db-password')));
  assert.ok(opens.every((o) => o.code === 0));
  assert.is(source.reads, 1);
  assert.is(h.openFileCount(), 100);
  await Promise.all(opens.map((o) => release(h, o.fd!)));
  assert.is(h.openFileCount(), 0);
});

test('a read of an unknown fd is EBADF; reads honour pos and len', async () => {
  const { h } = setup();
  assert.is((await read(h, 999, 10, 0)).code, -9);
  const o = await open(h, '/db-password');
  assert.is((await read(h, o.fd!, 2, 2)).data.toString(), 'cr');
  assert.is((await read(h, o.fd!, 10, 6)).code, 0);
});

test.run();
