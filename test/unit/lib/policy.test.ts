import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderPolicy, normalizePolicyName } from '../../../lib/vault/policy.js';
import { kvApiPath, normalizeSecretPath } from '../../../lib/vault/kv-path.js';
import { UsageError } from '../../../lib/errors.js';

const test = suite('lib/vault/policy+kv-path');
const v2 = { mount: 'secret/', version: 2 as const };
const v1 = { mount: 'kv/', version: 1 as const };

test('KV v2 read policy uses data/ and metadata/ paths', () => {
  const hcl = renderPolicy({ read: ['secret/app-1'], list: true }, () => v2);
  assert.match(hcl, /path "secret\/data\/app-1" \{\n  capabilities = \["read"\]\n\}/);
  assert.match(hcl, /path "secret\/metadata\/app-1\/" \{\n  capabilities = \["list"\]/);
  assert.not.match(hcl, /secret\/data\/app-1\/\*/);
  assert.not.match(hcl, /path "secret\/metadata\/app-1" /, 'readers need no metadata');
  assert.match(renderPolicy({ write: ['secret/app-1'] }, () => v2), /path "secret\/metadata\/app-1" \{\n  capabilities = \["read"\]/);
});

test('a subtree grant uses the glob; KV v1 uses the path as is', () => {
  assert.match(renderPolicy({ read: ['secret/app/*'] }, () => v2), /"secret\/data\/app\/\*"/);
  const hcl = renderPolicy({ write: ['kv/app'] }, () => v1);
  assert.match(hcl, /path "kv\/app" \{\n  capabilities = \["create", "read", "update", "patch", "delete"\]/);
});

test('an empty policy and bad names are refused', () => {
  assert.throws(() => renderPolicy({}, () => v2), (e: unknown) => e instanceof UsageError);
  for (const name of ['root', '../x', 'a/b', '', 'x\u0000']) assert.throws(() => normalizePolicyName(name), (e: unknown) => e instanceof UsageError);
  assert.is(normalizePolicyName('App-Read'), 'app-read');
});

test('KV API paths and path validation', () => {
  assert.is(kvApiPath(v2, 'secret/app-1', 'data'), 'secret/data/app-1');
  assert.is(kvApiPath(v2, 'secret/a b', 'metadata'), 'secret/metadata/a%20b');
  assert.is(kvApiPath(v1, 'kv/x'), 'kv/x');
  assert.is(normalizeSecretPath('secret/app-1/'), 'secret/app-1');
  // One trailing slash is the same path; two leave an empty segment.
  assert.throws(() => normalizeSecretPath('secret/app-1//'), /empty segment/);
  for (const bad of ['', '/abs', 'a/../b', 'a//b', 'a\u0000b', './a']) assert.throws(() => normalizeSecretPath(bad), (e: unknown) => e instanceof UsageError);
});

test.run();
