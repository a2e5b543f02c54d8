import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Core } from '../../../lib/localvault/core.js';
import { handleRequest } from '../../../lib/localvault/router.js';
import type { Operation, VaultRequest } from '../../../lib/localvault/envelope.js';
import { auditPath } from '../../../lib/localvault/server.js';

/** The router and handlers against a real Core in a temp directory, without HTTP. */
const test = suite('localvault router (no HTTP)');
let dir = '';
let core: Core;
let root = '';

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lv-router-'));
  core = await Core.open({ dataDir: dir });
  root = (await readFile(core.rootTokenFile, 'utf8')).trim();
});
test.after.each(async () => {
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
function req(op: Operation, path: string, body: Record<string, unknown> = {}, token = root): VaultRequest {
  return { id: `r${++n}`, method: op.toUpperCase(), op, path, query: new URLSearchParams(), body, hasBody: true, contentType: 'application/json', token, remoteAddress: '127.0.0.1', wrapTtl: 0 };
}

test('a write is create for a new key and update for an existing one', async () => {
  const first = await handleRequest(core, req('write', 'secret/data/a', { data: { v: '1' } }));
  assert.is(first.status, 200);
  assert.is(first.operation, 'create');
  const second = await handleRequest(core, req('write', 'secret/data/a', { data: { v: '2' } }));
  assert.is(second.operation, 'update');
  const read = await handleRequest(core, req('read', 'secret/data/a'));
  assert.is((read.body as any).data.data.v, '2');
});

test('no token: 403; root on an unknown path: 404 no handler', async () => {
  const anon = await handleRequest(core, req('read', 'secret/data/a', {}, ''));
  assert.is(anon.status, 403);
  const unknown = await handleRequest(core, req('read', 'nowhere/x'));
  assert.is(unknown.status, 404);
  assert.equal((unknown.body as any).errors, ['no handler for route "nowhere/x". route entry not found.']);
});

test('state changes are persisted before the outcome is returned', async () => {
  await handleRequest(core, req('write', 'secret/data/durable', { data: { v: 'x' } }));
  await core.close();
  core = await Core.open({ dataDir: dir });
  const read = await handleRequest(core, req('read', 'secret/data/durable'));
  assert.is((read.body as any).data.data.v, 'x');
});

test('a wrapped reply holds no data, only wrap_info', async () => {
  const r = req('read', 'sys/mounts');
  r.wrapTtl = 30;
  const out = await handleRequest(core, r);
  assert.is(out.wrapped, true);
  assert.is((out.body as any).data, null);
  assert.is((out.body as any).wrap_info.ttl, 30);
});

test('audit paths mask token-like segments only', () => {
  assert.is(auditPath('auth/token/lookup/hvs.ABCDEFGHIJKLMNOPQRSTUVWX'), 'auth/token/lookup/[token]');
  assert.is(auditPath('secret/data/app-1/db'), 'secret/data/app-1/db');
});

test.run();
