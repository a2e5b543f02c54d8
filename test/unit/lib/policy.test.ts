import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderHcl, renderPolicy, normalizePolicyName } from '../../../lib/vault/policy.js';
import { parseKeyValues } from '../../../lib/key-values.js';
import { parsePolicy } from '../../../lib/localvault/acl.js';
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

test('paths with a character HCL or Vault globs give a meaning to are refused, with the character named', () => {
  const cases: [string, string][] = [
    ['secret/x" { capabilities = ["deny"] } path "secret/data/*', '"\\""'],
    ['secret/a\\b', '"\\\\"'],
    ['secret/{{identity.entity.id}}', '"{"'],
    ['secret/a}b', '"}"'],
    ['secret/a#b', '"#"'],
    ['secret/app*', '"*"'],
    ['secret/${x}', '"$"'],
  ];
  for (const [bad, char] of cases) {
    try {
      normalizeSecretPath(bad);
      assert.unreachable(bad);
    } catch (err) {
      assert.instance(err, UsageError);
      assert.ok((err as Error).message.startsWith(`path must not contain ${char} (it has a meaning in Vault policies)`), (err as Error).message);
    }
  }
  assert.throws(() => normalizeSecretPath('secret/a\nb'), /control characters/);
  assert.throws(() => normalizeSecretPath('secret/+/x'), /"\+" segment/);
  assert.is(normalizeSecretPath('secret/a+b/c@d=e'), 'secret/a+b/c@d=e', 'a + inside a segment is literal to Vault');
});

test('the one HCL renderer refuses (never escapes) HCL-meaningful characters in paths and comments', () => {
  for (const bad of ['a"b', 'a\\b', 'a\nb', 'a{b', 'a}b', 'a#b', 'a\u0000b', 'a\u001fb', '']) {
    assert.throws(() => renderHcl([{ path: bad, capabilities: ['read'] }]), (e: unknown) => e instanceof UsageError, JSON.stringify(bad));
  }
  assert.throws(() => renderHcl([{ path: 'a', capabilities: ['read"] } path "x'] }]), /unknown capability/);
  assert.throws(() => renderHcl([{ path: 'a', capabilities: ['read'] }], 'x\npath "sys/*" { capabilities = ["sudo"] }'), /comment/);
  const hcl = renderHcl([{ path: 'secret/data/app-1/*', capabilities: ['read', 'list'] }], 'c');
  assert.is(hcl, '# c\n\npath "secret/data/app-1/*" {\n  capabilities = ["read", "list"]\n}\n');
  // What it renders parses back to exactly those stanzas.
  assert.equal(parsePolicy('p', hcl).rules.map((r) => [r.pattern, r.capabilities]), [['secret/data/app-1/*', ['read', 'list']]]);
});

test('-o keys such as __proto__ are plain keys (and then unknown options), never the prototype', () => {
  const out = parseKeyValues(['__proto__=x', 'constructor=y']);
  assert.equal(Object.keys(out).sort(), ['__proto__', 'constructor']);
  assert.is(out['__proto__'], 'x');
  assert.is(Object.getPrototypeOf(out), null);
});

test.run();
