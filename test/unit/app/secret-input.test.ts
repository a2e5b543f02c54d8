import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../lib/errors.js';
import { parseValueSources, readValues } from '../../../lib/app/secret-input.js';

const test = suite('app/secret-input');
const stdin = (text: string | Buffer) => ({ readStdin: async () => Buffer.from(text) });

test('KEY, KEY=- and KEY=@file are accepted', () => {
  assert.equal(parseValueSources(['a', 'b=@/tmp/f', 'c=-']), [
    { key: 'a', from: 'prompt-or-stdin' },
    { key: 'b', from: 'file', file: '/tmp/f' },
    { key: 'c', from: 'stdin' },
  ]);
});

test('a plain KEY=value is refused with a hint, and the value is not in the message', () => {
  try {
    parseValueSources(['db-password=CANARY-VALUE']);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, UsageError);
    assert.not.match((err as Error).message, /CANARY-VALUE/);
    assert.match((err as UsageError).hint ?? '', /db-password=@FILE/);
  }
});

for (const bad of [[''], ['../x'], ['a/b'], ['a', 'a'], ['a=-', 'b=-'], []]) {
  test(`bad key list ${JSON.stringify(bad)} is a usage error`, () => {
    assert.throws(() => parseValueSources(bad), (e: unknown) => e instanceof UsageError);
  });
}

test('piped stdin loses exactly one trailing newline', async () => {
  assert.equal(await readValues(parseValueSources(['k']), stdin('s3cr3t\n')), { k: 's3cr3t' });
  assert.equal(await readValues(parseValueSources(['k']), stdin('two\n\n')), { k: 'two\n' });
  assert.equal(await readValues(parseValueSources(['k=-']), stdin('crlf\r\n')), { k: 'crlf' });
});

test('files are taken byte for byte; binary needs --base64', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secretfs-input-'));
  try {
    await writeFile(join(dir, 'text'), 'line\n');
    await writeFile(join(dir, 'bin'), Buffer.from([0xff, 0x00, 0x80]));
    assert.equal(await readValues(parseValueSources([`t=@${dir}/text`]), stdin('')), { t: 'line\n' });
    await readValues(parseValueSources([`b=@${dir}/bin`]), stdin('')).then(() => assert.unreachable(), (e) => assert.instance(e, UsageError));
    assert.equal(await readValues(parseValueSources([`b=@${dir}/bin`]), stdin(''), true), { b: '/wCA' });
    await readValues(parseValueSources([`m=@${dir}/missing`]), stdin('')).then(() => assert.unreachable(), (e) => assert.instance(e, UsageError));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without a TTY, two keys cannot both come from stdin', async () => {
  await readValues(parseValueSources(['a', 'b']), stdin('x')).then(() => assert.unreachable(), (e) => assert.instance(e, UsageError));
  const prompted = await readValues(parseValueSources(['a', 'b']), { ...stdin(''), prompt: async (k) => `v-${k}` });
  assert.equal(prompted, { a: 'v-a', b: 'v-b' });
});

test.run();
