import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { maybeBase64 } from '../../../lib/localvault/sys-policy.js';

const test = suite('localvault policy text decoding');

test('valid standard base64 is decoded, line breaks skipped', () => {
  const hcl = 'path "secret/*" { capabilities = ["read"] }';
  const b64 = Buffer.from(hcl).toString('base64');
  assert.is(maybeBase64(b64), hcl);
  assert.is(maybeBase64(b64.slice(0, 20) + '\n' + b64.slice(20)), hcl);
});

test('HCL, JSON and malformed base64 are used as they are', () => {
  for (const text of ['path "a" { capabilities = ["read"] }', '{"path":{"a":{"capabilities":["read"]}}}', 'abc', 'ab=c', '']) {
    assert.is(maybeBase64(text), text);
  }
});

test.run();
