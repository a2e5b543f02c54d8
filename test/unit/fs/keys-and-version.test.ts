import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FuseStat } from 'fuse-native';
import { Errno } from '../../../lib/fs/errno.js';
import { createHandlers, type SecretFsHandlers } from '../../../lib/fs/handlers.js';
import { parseKeySelection, missingKeys } from '../../../lib/fs/key-selection.js';
import { parseFsOptions } from '../../../lib/fs/options.js';
import { createSecretStore } from '../../../lib/fs/store.js';
import { MemorySource } from '../../helpers/memory-source.js';

const test = suite('fs keys= selection and .secretfs.version (handlers over a memory source)');

const APP = { '': { password: 'pw-1', username: 'app', other: 'not-selected', 'tls.key': 'K' }, sub: { x: '1' } };

function setup(opts: Record<string, string> = {}) {
  const source = new MemorySource('secret/app', APP);
  const options = parseFsOptions(opts);
  const store = createSecretStore(source, { cacheTtlMs: 0, timeoutMs: 200 });
  return { source, store, h: createHandlers(store, options, { opTimeoutMs: 1000 }) };
}

function getattr(h: SecretFsHandlers, path: string): Promise<{ code: number; stat?: FuseStat }> {
  return new Promise((resolve) => h.getattr!(path, (code, stat) => resolve({ code, stat })));
}
function readdir(h: SecretFsHandlers, path: string): Promise<{ code: number; names?: string[] }> {
  return new Promise((resolve) => h.readdir!(path, (code, names) => resolve({ code, names })));
}
async function cat(h: SecretFsHandlers, path: string): Promise<{ code: number; text?: string }> {
  const fd = await new Promise<{ code: number; fd?: number }>((resolve) => h.open!(path, 0, (code, fd) => resolve({ code, fd })));
  if (fd.code !== 0) return { code: fd.code };
  const buf = Buffer.alloc(65536);
  const n = await new Promise<number>((resolve) => h.read!(path, fd.fd!, buf, buf.length, 0, (n) => resolve(n)));
  await new Promise((resolve) => h.release!(path, fd.fd!, resolve));
  return { code: 0, text: buf.subarray(0, n).toString() };
}

test('keys= parses renames and per-key modes, and refuses bad entries naming them', () => {
  assert.equal(parseKeySelection('password:pass:0400,username'), [
    { key: 'password', name: 'pass', mode: 0o400 },
    { key: 'username', name: 'username', mode: undefined },
  ]);
  assert.equal(parseKeySelection('tls.key::0440'), [{ key: 'tls.key', name: 'tls.key', mode: 0o440 }]);
  const refusal = (v: string) => {
    try {
      parseKeySelection(v);
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.is(refusal('a,,b'), 'invalid keys="a,,b": an empty entry (two commas, or a trailing comma); expected KEY[:NAME[:MODE]] separated by commas, e.g. keys=password:pass:0400,username');
  assert.is(refusal('a:b:0999'), 'invalid keys entry "a:b:0999": the mode "0999" is not octal permissions such as 0400');
  assert.is(refusal('a:x,b:x'), 'invalid keys="a:x,b:x": "a" and "b" would both be the file "x"');
  assert.is(refusal('a:.secretfs.version'), 'invalid keys entry "a:.secretfs.version": the file name ".secretfs.version" is a name secretfs uses itself');
  assert.is(refusal('a:b:0400:x'), 'invalid keys entry "a:b:0400:x": expected KEY[:NAME[:MODE]] separated by commas, e.g. keys=password:pass:0400,username');
  assert.is(refusal('a:..'), 'invalid keys entry "a:..": the file name ".." is not a file name');
  assert.equal(missingKeys(parseKeySelection('password,nope,also-nope'), APP['']), ['nope', 'also-nope']);
});

test('keys=: only the selected keys appear, renamed, with their own mode; no sub-paths; views show only them', async () => {
  const { h } = setup({ keys: 'password:pass:0400,username', mode: '0444' });
  const ls = await readdir(h, '/');
  assert.equal(ls.names!.sort(), ['.', '..', '.secretfs.env', '.secretfs.json', '.secretfs.version', 'pass', 'username'].sort());
  assert.equal(await cat(h, '/pass'), { code: 0, text: 'pw-1' });
  assert.is((await getattr(h, '/pass')).stat!.mode & 0o7777, 0o400);
  assert.is((await getattr(h, '/username')).stat!.mode & 0o7777, 0o444);
  assert.is((await cat(h, '/password')).code, Errno.ENOENT, 'the old name is gone');
  assert.is((await cat(h, '/other')).code, Errno.ENOENT, 'an unselected key cannot be opened');
  assert.is((await getattr(h, '/sub')).code, Errno.ENOENT, 'no sub-paths under keys=');
  assert.equal(JSON.parse((await cat(h, '/.secretfs.json')).text!), { pass: 'pw-1', username: 'app' });
  assert.is((await cat(h, '/.secretfs.env')).text, 'pass="pw-1"\nusername="app"\n');
});

test('.secretfs.version: version and change time, moving on with each write', async () => {
  const { h, source } = setup();
  const first = (await cat(h, '/.secretfs.version')).text!;
  assert.match(first, /^version=1\nchanged=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\n$/);
  assert.match((await cat(h, '/sub/.secretfs.version')).text!, /^version=1\n/);
  source.put('', { password: 'pw-2' });
  const second = (await cat(h, '/.secretfs.version')).text!;
  assert.match(second, /^version=2\n/);
  assert.ok((await getattr(h, '/.secretfs.version')).stat!.mode & 0o444);
});

test('.secretfs.version with keys= is the version of the whole secret', async () => {
  const { h, source } = setup({ keys: 'username' });
  assert.match((await cat(h, '/.secretfs.version')).text!, /^version=1\n/);
  source.put('', { ...APP[''], password: 'pw-3' });
  assert.match((await cat(h, '/.secretfs.version')).text!, /^version=2\n/);
});

test('a key named .secretfs.version wins over the view (the one name rule)', async () => {
  const source = new MemorySource('secret/app', { '': { '.secretfs.version': 'mine' } });
  const store = createSecretStore(source, { cacheTtlMs: 0, timeoutMs: 200 });
  const h = createHandlers(store, parseFsOptions({}), { opTimeoutMs: 1000 });
  assert.equal(await cat(h, '/.secretfs.version'), { code: 0, text: 'mine' });
});

test.run();
