import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { renderEnv, renderYaml, valueText } from '../../../lib/secret-formats.js';

const test = suite('lib/secret-formats');

test('values: strings as they are, others as JSON', () => {
  assert.is(valueText('s3cr3t'), 's3cr3t');
  assert.is(valueText(5432), '5432');
  assert.is(valueText({ ca: 'x' }), '{"ca":"x"}');
});

test('.env output reads back exactly through a POSIX shell', () => {
  const data = { 'db-password': `it's "quoted" $HOME \`x\` \\n\nline2`, PORT: 5432, ok: 'plain' };
  const { text, skipped } = renderEnv(data);
  assert.equal(skipped, []);
  const out = execFileSync('sh', ['-c', `set -a; eval "$1"; printf '%s|%s|%s' "$DB_PASSWORD" "$PORT" "$ok"`, 'sh', text], { encoding: 'utf8' });
  assert.is(out, `${data['db-password']}|5432|plain`);
});

test('.env reports keys that collide after renaming', () => {
  const { skipped } = renderEnv({ 'a-b': '1', A_B: '2' });
  assert.is(skipped.length, 1);
});

test('YAML quotes every value', () => {
  assert.is(renderYaml({ b: 'x: y', a: 1 }), '"a": "1"\n"b": "x: y"\n');
});

test.run();
