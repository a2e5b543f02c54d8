import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseEnvFile, parseJsonFile, secretFileFormat } from '../../../lib/app/secret-file.js';
import { renderEnv } from '../../../lib/render/secret.js';

const test = suite('property files for put --from-file');

test('the env syntax: comments, export, quotes, escapes, multi-line values, inline comments', () => {
  const text = [
    '# settings of my_service',
    '',
    'export DB_USER=app',
    'DB_HOST = ignored',
  ].join('\n');
  assert.throws(() => parseEnvFile(text, 'a.env'), /a\.env line 4: invalid key "DB_HOST ": .*; nothing was written/);
  const ok = parseEnvFile(
    [
      '# settings',
      'export DB_USER=app  # the login',
      'DB_PASSWORD="p\\"w \\$HOME \\\\ `x` # not a comment"',
      "RAW='$NOT_EXPANDED \\n'",
      'PEM="-----BEGIN-----',
      'abc',
      '-----END-----"',
      'EMPTY=',
      'url=https://x.example/?a=b',
      '',
    ].join('\r\n'),
  );
  assert.equal({ ...ok }, {
    DB_USER: 'app',
    DB_PASSWORD: 'p"w $HOME \\ `x` # not a comment',
    RAW: '$NOT_EXPANDED \\n',
    PEM: '-----BEGIN-----\nabc\n-----END-----',
    EMPTY: '',
    url: 'https://x.example/?a=b',
  });
});

test('what get --format env prints parses back to the same values', () => {
  const data = { A: 'plain', B: 'with "quotes" and $dollar and `tick` and \\', C: 'multi\nline\n', D: '' };
  assert.equal({ ...parseEnvFile(renderEnv(data, 'utf8').toString('utf8')) }, data);
});

test('malformed env files name the line and never echo the content', () => {
  const cases: [string, RegExp][] = [
    ['A=1\nB=2\njust-a-secret-value\n', /^f\.env line 3: expected KEY=VALUE \(no "=" found\); nothing was written$/],
    ['A=1\nB="open\nC=3\n', /^f\.env line 2: the double quote opened here is never closed; nothing was written$/],
    ["A='x' trailing\n", /^f\.env line 1: unexpected text after the closing quote; nothing was written$/],
    ['A=1\n\nA=2\n', /^f\.env line 3: A is already set on line 1; nothing was written$/],
    ['1A=x\n', /^f\.env line 1: invalid key "1A"/],
  ];
  for (const [text, re] of cases) {
    try {
      parseEnvFile(text, 'f.env');
      assert.unreachable(text);
    } catch (err) {
      assert.match((err as Error).message, re);
      assert.not.ok((err as Error).message.includes('just-a-secret-value'));
    }
  }
});

test('JSON files: one object, values as they are; malformed JSON names the line', () => {
  assert.equal({ ...parseJsonFile('{"a": "x", "n": 5, "o": {"k": [1]}}') }, { a: 'x', n: 5, o: { k: [1] } });
  assert.throws(() => parseJsonFile('{\n  "a": "x",\n  "b": oops\n}', 'f.json'), /^f\.json line 3: malformed JSON; nothing was written$/);
  assert.throws(() => parseJsonFile('["a"]', 'f.json'), /^f\.json line 1: the file must hold one JSON object/);
  assert.throws(() => parseJsonFile('{\n"ok": 1,\n"a/b": 2}', 'f.json'), /^f\.json line 3: invalid key name "a\/b"/);
  assert.is(secretFileFormat('x/my_service.JSON'), 'json');
  assert.is(secretFileFormat('my_service.env'), 'env');
});

test.run();
