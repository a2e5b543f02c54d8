import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import net from 'node:net';
import { storeSuite, vaultError } from '../../helpers/store.js';

const test = suite('localvault bad input: Vault status codes, a message, and the server stays up');
const { store, vault } = storeSuite(test);

const send = (path: string, init: RequestInit = {}) =>
  fetch(`${store.addr}${path}`, { ...init, headers: { 'X-Vault-Token': store.rootToken, ...(init.headers ?? {}) } });

function rawRequest(method: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(store.addr);
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers: { 'X-Vault-Token': store.rootToken } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function stillUp(): Promise<void> {
  assert.is((await fetch(`${store.addr}/v1/sys/health`)).status, 200);
  await vault.read('sys/mounts');
}

test('malformed JSON is 400 with a message', async () => {
  const res = await send('/v1/secret/data/x', { method: 'POST', body: '{"data": {', headers: { 'Content-Type': 'application/json' } });
  assert.is(res.status, 400);
  const body = (await res.json()) as any;
  assert.equal(body.errors, ['error parsing JSON']);
  const arr = await send('/v1/secret/data/x', { method: 'POST', body: '[1,2]' });
  assert.is(arr.status, 400);
  await stillUp();
});

test('a body over the limit is 413', async () => {
  const big = Buffer.alloc(33 * 1024 * 1024, 0x61);
  let status = 0;
  try {
    status = (await send('/v1/secret/data/big', { method: 'POST', body: big })).status;
  } catch {
    status = 413; // the server may close the connection while the client is still sending
  }
  assert.is(status, 413);
  await stillUp();
});

test('a body over the limit without Content-Length (chunked) is 413 too', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const url = new URL(store.addr);
    const sock = net.connect(Number(url.port), url.hostname, () => {
      sock.write(`POST /v1/secret/data/big HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${store.rootToken}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const chunk = Buffer.alloc(1024 * 1024, 0x62);
      let sent = 0;
      const pump = () => {
        while (sent < 40) {
          sent++;
          sock.write(`${chunk.length.toString(16)}\r\n`);
          sock.write(chunk);
          if (!sock.write('\r\n')) return void sock.once('drain', pump);
        }
        sock.write('0\r\n\r\n');
      };
      pump();
    });
    let data = '';
    sock.on('data', (d) => {
      data += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d+)/.exec(data);
      if (m) {
        resolve(Number(m[1]));
        sock.destroy();
      }
    });
    sock.on('error', (e) => (data ? undefined : reject(e)));
  });
  assert.is(status, 413);
  await stillUp();
});

test('unknown paths: 404 no handler (root), 403 for others; unknown system paths are unsupported', async () => {
  const e = await vaultError(vault.read('nothing/here'));
  assert.is(e.status, 404);
  assert.is(e.message, 'no handler for route "nothing/here". route entry not found.');
  const s = await vaultError(vault.read('sys/nonexistent'));
  assert.is(s.status, 404);
  assert.match(s.message, /unsupported path/);
  const t = await vaultError(vault.read('auth/token/nonexistent'));
  assert.is(t.status, 404);
  const a = await vaultError(vault.read('auth/userpass/login/x'));
  assert.is(a.status, 404);
  const outside = await fetch(`${store.addr}/v2/whatever`);
  assert.is(outside.status, 404);
  await stillUp();
});

test('wrong methods are 405', async () => {
  assert.is((await send('/v1/sys/mounts', { method: 'DELETE' })).status, 405);
  assert.is((await send('/v1/secret/data/x', { method: 'OPTIONS' })).status, 405);
  assert.is((await send('/v1/secret/metadata/x', { method: 'HEAD' })).status, 405);
  const res = await send('/v1/auth/token/create', { method: 'GET' });
  assert.is(res.status, 405);
  assert.match(((await res.json()) as any).errors[0], /unsupported operation/);
  await stillUp();
});

test('names with .. or NUL are 400 with a message', async () => {
  // node:http sends the path as given (fetch would normalise the dots away).
  for (const path of ['/v1/secret/data/a/../b', '/v1/secret/data/a/%2E%2E/b', '/v1/secret/data/a%2F..%2Fb', '/v1/sys/policies/acl/x..y', '/v1/secret/data/a%00b', '/v1/sys/policy/a%00']) {
    const { status, body } = await rawRequest('POST', path, JSON.stringify({ data: { a: '1' }, policy: 'path "a" {}' }));
    assert.is(status, 400, path);
    assert.match(JSON.parse(body).errors[0], /parent references|null bytes/, path);
  }
  const res = await send('/v1/secret/data/%E0%A4%A', { method: 'GET' });
  assert.is(res.status, 400);
  await stillUp();
});

test('invalid policies are 400 "failed to parse policy"; nothing is stored', async () => {
  for (const policy of ['path "a" { capabilities = ["fly"] }', 'path "a" {', 'nonsense', 'path "a/+*" { capabilities = ["read"] }']) {
    const e = await vaultError(vault.write('sys/policies/acl/broken', { policy }));
    assert.is(e.status, 400);
    assert.match(e.message, /^failed to parse policy: /);
  }
  assert.is((await vaultError(vault.read('sys/policies/acl/broken'))).status, 404);
  await stillUp();
});

test('bad field types are 400', async () => {
  assert.is((await vaultError(vault.write('auth/token/create', { num_uses: 'many' }))).status, 400);
  assert.is((await vaultError(vault.write('auth/token/create', { ttl: 'forever' }))).status, 400);
  assert.is((await vaultError(vault.write('auth/token/create', { num_uses: -1 }))).status, 400);
  assert.is((await vaultError(vault.write('secret/data/x', { data: 'string' }))).status, 400);
  assert.is((await vaultError(vault.read('secret/data/x?version=abc'))).status, 400);
  const wrap = await send('/v1/secret/data/x', { headers: { 'X-Vault-Wrap-TTL': 'soon' } });
  assert.is(wrap.status, 400);
  await stillUp();
});

test('garbage on the socket does not take the server down', async () => {
  const url = new URL(store.addr);
  await new Promise<void>((resolve) => {
    const sock = net.connect(Number(url.port), url.hostname, () => sock.write('THIS IS NOT HTTP\r\n\r\n'));
    sock.on('data', () => sock.destroy());
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
  await stillUp();
});

test.run();
