import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ValueEncodingError, envName, isServableKey, quoteEnvValue, renderEnv, renderJson, renderSecret, renderYaml, valueBytes } from '../../../lib/render/secret.js';

const test = suite('render/secret');

test('a string value is exactly its bytes, with no added newline', () => {
  assert.equal(valueBytes('s3cr3t', 'utf8'), Buffer.from('s3cr3t'));
  assert.equal(valueBytes('line\n', 'utf8'), Buffer.from('line\n'));
  assert.equal(valueBytes('päss', 'utf8'), Buffer.from('päss', 'utf8'));
});

test('non-string values are compact JSON', () => {
  assert.is(valueBytes(5432, 'utf8').toString(), '5432');
  assert.is(valueBytes(true, 'utf8').toString(), 'true');
  assert.is(valueBytes(null, 'utf8').toString(), 'null');
  assert.is(valueBytes({ ca: '...' }, 'utf8').toString(), '{"ca":"..."}');
  assert.is(valueBytes([1, 'a'], 'base64').toString(), '[1,"a"]');
});

test('encoding=base64 decodes binary values, standard and url-safe', () => {
  const bin = Buffer.from([0, 1, 2, 255, 254, 0, 10]);
  assert.equal(valueBytes(bin.toString('base64'), 'base64'), bin);
  assert.equal(valueBytes(bin.toString('base64url'), 'base64'), bin);
  assert.equal(valueBytes('AAEC\n/w==', 'base64'), Buffer.from([0, 1, 2, 255]));
});

test('encoding=base64 refuses a value that is not base64 (the filesystem answers EIO)', () => {
  assert.throws(() => valueBytes('not base64!', 'base64'), (err: unknown) => err instanceof ValueEncodingError && err.message === 'value is not valid base64');
});

test('servable keys: no "/", NUL, ".", "..", or names over 255 bytes', () => {
  assert.ok(isServableKey('db-password'));
  assert.ok(isServableKey('ключ 🔑'));
  for (const bad of ['', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256)]) assert.not.ok(isServableKey(bad), bad);
});

test('JSON is the whole secret', () => {
  const data = { 'db-password': 's3cr3t', port: 5432, tls: { ca: '...' } };
  assert.equal(JSON.parse(renderJson(data).toString()), data);
});

test('env names: invalid characters become _, a leading digit gets _', () => {
  assert.is(envName('db-password'), 'db_password');
  assert.is(envName('DB_URL'), 'DB_URL');
  assert.is(envName('1key'), '_1key');
  assert.is(envName('a.b c'), 'a_b_c');
});

test('env quoting escapes \\ " $ and backquote', () => {
  assert.is(quoteEnvValue('a"b$c`d\\e'), '"a\\"b\\$c\\`d\\\\e"');
});

test('env: name clashes and binary values are left out with a comment naming the key only', () => {
  const text = renderEnv({ 'a-b': 'one', a_b: 'two', nul: 'x\u0000y' }, 'utf8').toString();
  assert.match(text, /^a_b="one"$/m);
  assert.match(text, /# skipped key "a_b": a_b is already used by key "a-b"/);
  assert.not.match(text, /two/);
  assert.match(text, /# skipped key "nul": binary value/);
  assert.not.match(text, /\u0000/);
  const bin = renderEnv({ bin: Buffer.from([0, 255]).toString('base64'), ok: Buffer.from('fine').toString('base64') }, 'base64').toString();
  assert.match(bin, /# skipped key "bin": binary value/);
  assert.match(bin, /^ok="fine"$/m);
});

function sh(script: string): Promise<string> {
  return new Promise((resolve, reject) => execFile('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH } }, (err, out) => (err ? reject(err) : resolve(out))));
}

test('env round-trips through POSIX sh: tricky values come back byte for byte', async () => {
  const data: Record<string, unknown> = {
    'db-password': 's3cr3t',
    quote: `it's "quoted"`,
    dollar: '$HOME and ${PATH} and $(id) and `id`',
    backslash: 'a\\b\\\\c\\n',
    newline: 'line1\nline2\n',
    spaces: '  leading and trailing  ',
    hash: 'value # not a comment',
    unicode: 'päss 🔑',
    port: 5432,
    empty: '',
  };
  const dir = await mkdtemp(join(tmpdir(), 'secretfs-env-'));
  try {
    const file = join(dir, 'x.env');
    await writeFile(file, renderEnv(data, 'utf8'));
    const out = await sh(`set -a; . ${file}; node -e 'const k=process.argv.slice(1); console.log(JSON.stringify(Object.fromEntries(k.map((n)=>[n, process.env[n]]))))' ${Object.keys(data).map(envName).join(' ')}`);
    const got = JSON.parse(out);
    for (const [k, v] of Object.entries(data)) assert.is(got[envName(k)], typeof v === 'string' ? v : JSON.stringify(v), k);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('YAML quotes every key and value, non-strings as JSON', () => {
  assert.is(renderYaml({ b: 'x: y', a: 1, c: { d: true } }), '"a": "1"\n"b": "x: y"\n"c": "{\\"d\\":true}"\n');
  assert.is(renderYaml({}), '');
});

test('renderSecret gives each format of the whole secret', () => {
  const data = { 'db-password': 's3cr3t', port: 5432 };
  assert.equal(renderSecret(data, 'json'), renderJson(data));
  assert.equal(renderSecret(data, 'env'), Buffer.from('db_password="s3cr3t"\nport="5432"\n'));
  assert.equal(renderSecret(data, 'yaml').toString(), '"db-password": "s3cr3t"\n"port": "5432"\n');
});

test.run();
