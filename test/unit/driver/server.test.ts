import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, UsageError } from '../../../lib/errors.js';
import { createLogger } from '../../../lib/log.js';
import { createDriverServer, parseRequestBody, type DriverServer } from '../../../lib/driver/server.js';
import type { DriverStatusReport, VolumeDriver, VolumeInfo } from '../../../lib/driver/protocol.js';
import { postPlugin } from './plugin-client.js';

/** A call-recording driver, as go-plugins-helpers' volume/api_test.go does. */
class FakeDriver implements VolumeDriver {
  calls: { method: string; args: unknown[] }[] = [];
  fail?: Error;
  private record(method: string, ...args: unknown[]) {
    this.calls.push({ method, args });
    if (this.fail) throw this.fail;
  }
  async create(name: string, opts: Record<string, string>) {
    this.record('create', name, opts);
  }
  async remove(name: string) {
    this.record('remove', name);
  }
  async mount(name: string, id: string) {
    this.record('mount', name, id);
    return `/mnt/${name}`;
  }
  async unmount(name: string, id: string) {
    this.record('unmount', name, id);
  }
  async path(name: string) {
    this.record('path', name);
    return name === 'mounted' ? '/mnt/mounted' : undefined;
  }
  async get(name: string): Promise<VolumeInfo> {
    this.record('get', name);
    if (name === 'missing') throw new NotFoundError('no such volume: missing');
    return { name, createdAt: '2024-01-01T00:00:00.000Z', status: { path: 'secret/x' } };
  }
  async list(): Promise<VolumeInfo[]> {
    this.record('list');
    return [{ name: 'a', mountpoint: '/mnt/a' }, { name: 'b' }];
  }
  capabilities() {
    this.record('capabilities');
    return { scope: 'local' as const };
  }
  async status(): Promise<DriverStatusReport> {
    this.record('status');
    return { pid: 42, volumes: [] };
  }
}

const test = suite('driver/server (protocol over a real unix socket, fake driver)');
let dir: string;
let socket: string;
let driver: FakeDriver;
let server: DriverServer;
const lines: string[] = [];

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfs-server-'));
  socket = join(dir, 'plugins', 'sfstest.sock');
  driver = new FakeDriver();
  lines.length = 0;
  server = createDriverServer(driver, { socketPath: socket, log: createLogger({ write: (l) => lines.push(l) }), maxBodyBytes: 4096 });
  await server.listen();
});
test.after.each(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('Plugin.Activate with an empty body answers VolumeDriver', async () => {
  const res = await postPlugin(socket, '/Plugin.Activate');
  assert.is(res.status, 200);
  assert.equal(res.body, { Implements: ['VolumeDriver'] });
});

test('Create passes Name and Opts; a null Opts is no options', async () => {
  let res = await postPlugin(socket, '/VolumeDriver.Create', { Name: 'v1', Opts: { path: 'secret/a', mode: '0400' } });
  assert.equal(res.body, { Err: '' });
  res = await postPlugin(socket, '/VolumeDriver.Create', { Name: 'v2', Opts: null });
  assert.equal(res.body, { Err: '' });
  assert.equal(driver.calls, [
    { method: 'create', args: ['v1', { path: 'secret/a', mode: '0400' }] },
    { method: 'create', args: ['v2', {}] },
  ]);
});

test('Create with a non-string option value is an Err and creates nothing', async () => {
  const res = await postPlugin(socket, '/VolumeDriver.Create', { Name: 'v1', Opts: { uid: 5 } });
  assert.is(res.status, 400);
  assert.match(res.body.Err, /must be a string/);
  assert.is(driver.calls.length, 0);
});

test('Remove, Mount, Unmount, Path, Get, List and Capabilities map to the driver', async () => {
  assert.equal((await postPlugin(socket, '/VolumeDriver.Remove', { Name: 'v' })).body, { Err: '' });
  assert.equal((await postPlugin(socket, '/VolumeDriver.Mount', { Name: 'v', ID: 'abc' })).body, { Mountpoint: '/mnt/v', Err: '' });
  assert.equal((await postPlugin(socket, '/VolumeDriver.Unmount', { Name: 'v', ID: 'abc' })).body, { Err: '' });
  assert.equal((await postPlugin(socket, '/VolumeDriver.Path', { Name: 'mounted' })).body, { Mountpoint: '/mnt/mounted', Err: '' });
  assert.equal((await postPlugin(socket, '/VolumeDriver.Path', { Name: 'idle' })).body, { Mountpoint: '', Err: '' });
  assert.equal((await postPlugin(socket, '/VolumeDriver.Get', { Name: 'v' })).body, {
    Volume: { Name: 'v', CreatedAt: '2024-01-01T00:00:00.000Z', Status: { path: 'secret/x' } },
    Err: '',
  });
  assert.equal((await postPlugin(socket, '/VolumeDriver.List', {})).body, { Volumes: [{ Name: 'a', Mountpoint: '/mnt/a' }, { Name: 'b' }], Err: '' });
  assert.equal((await postPlugin(socket, '/VolumeDriver.Capabilities', {})).body, { Capabilities: { Scope: 'local' } });
  assert.equal((await postPlugin(socket, '/SecretFS.Status', {})).body, { pid: 42, volumes: [] });
  assert.equal(
    driver.calls.map((c) => c.method),
    ['remove', 'mount', 'unmount', 'path', 'path', 'get', 'list', 'capabilities', 'status'],
  );
  assert.equal(driver.calls[1].args, ['v', 'abc']);
});

test('a driver error becomes a 500 with Err, hint included', async () => {
  driver.fail = new UsageError('volume in use', { hint: 'stop the container' });
  for (const [route, body] of [
    ['/VolumeDriver.Create', { Name: 'v' }],
    ['/VolumeDriver.Remove', { Name: 'v' }],
    ['/VolumeDriver.Mount', { Name: 'v', ID: 'x' }],
    ['/VolumeDriver.Unmount', { Name: 'v', ID: 'x' }],
    ['/VolumeDriver.Path', { Name: 'v' }],
    ['/VolumeDriver.Get', { Name: 'v' }],
    ['/VolumeDriver.List', {}],
  ] as const) {
    const res = await postPlugin(socket, route, body);
    assert.is(res.status, 500, route);
    assert.is(res.body.Err, 'volume in use (stop the container)', route);
  }
});

test('an unexpected exception is an Err, not a crash', async () => {
  driver.fail = new TypeError('boom');
  const res = await postPlugin(socket, '/VolumeDriver.Remove', { Name: 'v' });
  assert.is(res.status, 500);
  assert.match(res.body.Err, /internal error: boom/);
  driver.fail = undefined;
  assert.is((await postPlugin(socket, '/Plugin.Activate')).status, 200);
});

test('Get of an unknown volume is an Err', async () => {
  const res = await postPlugin(socket, '/VolumeDriver.Get', { Name: 'missing' });
  assert.is(res.status, 500);
  assert.match(res.body.Err, /no such volume/);
});

test('malformed JSON is a 400 Err and never reaches the driver', async () => {
  for (const body of ['{"Name": "v"', 'nope', '[1,2]', '"str"']) {
    const res = await postPlugin(socket, '/VolumeDriver.Create', body);
    assert.is(res.status, 400, body);
    assert.type(res.body.Err, 'string');
    assert.ok(res.body.Err.length > 0);
  }
  assert.is(driver.calls.length, 0);
});

test('a missing or non-string Name is an Err', async () => {
  for (const body of [{}, { Name: '' }, { Name: 5 }, { Opts: {} }]) {
    const res = await postPlugin(socket, '/VolumeDriver.Create', body);
    assert.is(res.status, 400);
    assert.match(res.body.Err, /missing Name/);
  }
  const res = await postPlugin(socket, '/VolumeDriver.Mount', { Name: 'v' });
  assert.match(res.body.Err, /missing ID/);
  assert.is(driver.calls.length, 0);
});

test('unknown routes and other methods get an Err', async () => {
  let res = await postPlugin(socket, '/VolumeDriver.Explode', {});
  assert.is(res.status, 404);
  assert.match(res.body.Err, /unknown route/);
  res = await postPlugin(socket, '/__proto__', {});
  assert.is(res.status, 404);
  res = await postPlugin(socket, '/constructor', {});
  assert.is(res.status, 404);
  res = await postPlugin(socket, '/Plugin.Activate', undefined, 'GET');
  assert.is(res.status, 405);
  assert.type(res.body.Err, 'string');
});

test('an oversized body is refused with an Err and the server keeps serving', async () => {
  const big = JSON.stringify({ Name: 'v', Opts: { path: 'x'.repeat(10_000) } });
  const res = await postPlugin(socket, '/VolumeDriver.Create', big).catch((err) => ({ status: -1, body: { Err: String(err) }, text: '' }));
  // The server answers 413 before reading everything; depending on timing the client may see a reset instead.
  if (res.status !== -1) {
    assert.is(res.status, 413);
    assert.match(res.body.Err, /too large/);
  }
  assert.is(driver.calls.length, 0);
  assert.is((await postPlugin(socket, '/Plugin.Activate')).status, 200);
});

test('the socket is mode 0600', async () => {
  const st = await stat(socket);
  assert.ok(st.isSocket());
  assert.is(st.mode & 0o777, 0o600);
});

test('one log line per request with route, volume, status and duration, and never the options', async () => {
  await postPlugin(socket, '/VolumeDriver.Create', { Name: 'logged', Opts: { token: 'hvs.SHOULD-NOT-APPEAR' } });
  const entry = JSON.parse(lines.find((l) => l.includes('VolumeDriver.Create'))!);
  assert.is(entry.route, '/VolumeDriver.Create');
  assert.is(entry.volume, 'logged');
  assert.is(entry.status, 200);
  assert.type(entry.ms, 'number');
  assert.not.ok(lines.join('').includes('SHOULD-NOT-APPEAR'));
});

test('close unlinks the socket and is idempotent', async () => {
  await server.close();
  await server.close();
  assert.not.ok(existsSync(socket));
});

test('a stale socket file is replaced; a live one is refused; a non-socket is left alone', async () => {
  await server.close();
  // A stale socket: bound by a server that is gone without unlinking (simulate with a closed net server that leaves its file).
  const stale = net.createServer();
  await new Promise<void>((r) => stale.listen(socket, r));
  const live2 = createDriverServer(driver, { socketPath: socket, log: createLogger() });
  let refusedLive = false;
  try {
    await live2.listen();
  } catch (err) {
    refusedLive = /already listening/.test((err as Error).message);
  }
  assert.ok(refusedLive, 'a live socket must not be taken over');
  await new Promise<void>((r) => stale.close(() => r()));
  // A truly stale socket: its owner was killed with SIGKILL, so the file stays and nobody answers.
  const owner = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => owner.stdout!.once('data', r));
  owner.kill('SIGKILL');
  await new Promise((r) => owner.once('exit', r));
  assert.ok(existsSync(socket), 'the killed owner left its socket file');
  server = createDriverServer(driver, { socketPath: socket, log: createLogger() });
  await server.listen();
  assert.is((await postPlugin(socket, '/Plugin.Activate')).status, 200);
  await server.close();
  await writeFile(socket, 'not a socket');
  const third = createDriverServer(driver, { socketPath: socket, log: createLogger() });
  let refused = false;
  try {
    await third.listen();
  } catch (err) {
    refused = /not a socket/.test((err as Error).message);
  }
  assert.ok(refused);
  await rm(socket);
});

test('parseRequestBody: empty and null mean no fields', () => {
  assert.equal(parseRequestBody(Buffer.from('')), {});
  assert.equal(parseRequestBody(Buffer.from('  null ')), {});
  assert.equal(parseRequestBody(Buffer.from('{"Name":"x"}')), { Name: 'x' });
});

test.run();
