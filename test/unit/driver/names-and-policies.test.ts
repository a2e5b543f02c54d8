import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizePolicyName } from '../../../lib/vault/policy.js';
import { DRIVER_POLICY_HCL, MINTABLE_POLICY_GLOBS, isMintable, notMintable, volumeTokenRole } from '../../../lib/access/boundary.js';
import { ALLOW_POLICY_PREFIX, VOLUME_POLICY_PREFIX, allowPolicyName, renderPathPolicy, volumePolicyName, volumeTokenRequest } from '../../../lib/access/volume-access.js';
import { renewalDelayMs } from '../../../lib/driver/volume-tokens.js';
import { looksLikeVaultPath, validateVolumeName, volumeDirName } from '../../../lib/driver/volume-name.js';

const test = suite('driver/names and policies');

test('volume names: plain names and Vault paths pass; escapes, NUL and odd characters do not', () => {
  for (const ok of ['v1', 'app_1.prod', 'secret/app-1', 'secret/team/app-1', 'A-b@c', 'secret/app-1/', 'a/']) assert.is(validateVolumeName(ok), ok);
  for (const bad of ['', '.', '..', '../x', 'x/..', 'a//b', '/abs', 'a//', 'secret/app-1//', '/', 'a\u0000', 'tab\there', 'back\\slash', 'sp ace', 'x'.repeat(201)]) {
    assert.throws(() => validateVolumeName(bad), /volume name/, JSON.stringify(bad));
  }
  assert.ok(looksLikeVaultPath('secret/app-1'));
  assert.not.ok(looksLikeVaultPath('v1'));
});

test('one directory segment per volume, distinct for names differing only in / versus _', () => {
  const a = volumeDirName('secret/app_1');
  const b = volumeDirName('secret_app/1');
  assert.not.ok(a.includes('/'));
  assert.is.not(a, b);
  assert.is(volumeDirName('v1'), volumeDirName('v1'));
});

test('volume and allow policy names are valid Vault policy names the role may mint; one volume policy per (scope, name, path)', () => {
  const scope = 'a'.repeat(32);
  for (const n of ['v1', 'secret/App-1', 'a@b.c', '__proto__']) {
    const p = volumePolicyName(n, 'secret/app', scope);
    assert.ok(p.startsWith(VOLUME_POLICY_PREFIX));
    assert.is(normalizePolicyName(p), p);
    assert.ok(isMintable(p));
    assert.is(volumePolicyName(n, 'secret/app', scope), p, 'deterministic');
    assert.is.not(volumePolicyName(n, 'secret/other', scope), p, 'another path, another policy');
    assert.is.not(volumePolicyName(n, 'secret/app', 'b'.repeat(32)), p, 'another installation, another policy');
  }
  // The parts are separated: no (name, path) pair spells another's.
  assert.is.not(volumePolicyName('a', 'b/c', scope), volumePolicyName('a/b', 'c', scope));
  const a = allowPolicyName('secret/App-1');
  assert.ok(a.startsWith(ALLOW_POLICY_PREFIX));
  assert.is(normalizePolicyName(a), a);
  assert.is(allowPolicyName('secret/App-1'), a, 'one name per allowed path');
  assert.is.not(allowPolicyName('secret/app-1'), a);
});

test('the volume token request: exactly the given policies, no default, 1h, display name and metadata name the volume', () => {
  assert.equal(volumeTokenRequest({ volume: 'secret/app-1', path: 'secret/app-1', policies: ['p1'], issuer: 'cli' }), {
    policies: ['p1'],
    ttl: '1h',
    renewable: true,
    noDefaultPolicy: true,
    displayName: 'secretfs-vol-secret-app-1',
    meta: { volume: 'secret/app-1', path: 'secret/app-1', issuer: 'cli' },
  });
});

test('the path policy reads its path and below (KV v2 data and metadata) and nothing else', () => {
  const hcl = renderPathPolicy('secret/app-1', { mount: 'secret/', version: 2 }, 'docker secretfs volume v1');
  assert.match(hcl, /path "secret\/data\/app-1" \{\n  capabilities = \["read"\]/);
  assert.match(hcl, /path "secret\/data\/app-1\/\*"/);
  assert.match(hcl, /path "secret\/metadata\/app-1\/" \{\n  capabilities = \["list"\]/);
  assert.match(hcl, /auth\/token\/renew-self/);
  assert.not.match(hcl, /"(create|update|delete|sudo)"[^\n]*\n[^\n]*secret/);
  assert.not.match(hcl, /secret\/data\/\*"/);
});

test('the driver policy mints through the role and reads allow policies; it writes no policy and reads no secret', () => {
  assert.match(DRIVER_POLICY_HCL, /path "auth\/token\/create\/secretfs-volume" \{\n  capabilities = \["update"\]/);
  assert.match(DRIVER_POLICY_HCL, /path "sys\/policies\/acl\/secretfs-allow-\*" \{\n  capabilities = \["read"\]\n\}/);
  assert.match(DRIVER_POLICY_HCL, /path "auth\/token\/revoke-accessor"/);
  assert.not.match(DRIVER_POLICY_HCL, /secret\//);
  assert.not.match(DRIVER_POLICY_HCL, /sudo|create"|delete/);
  assert.match(DRIVER_POLICY_HCL, /path "sys\/mounts" \{\n  capabilities = \["read"\]/);
  assert.equal(volumeTokenRole().allowed_policies_glob, ['secretfs-allow-*', 'secretfs-volume-*']);
  assert.equal(MINTABLE_POLICY_GLOBS, ['secretfs-allow-*', 'secretfs-volume-*']);
  // The prefix an older driver could write (secretfs-vol-*) is not mintable.
  assert.not.ok(isMintable('secretfs-vol-evil'));
  assert.is(notMintable(['default', 'secretfs-volume-x-abc123']), undefined);
  assert.match(notMintable(['team-narrow'])!, /may not mint policy team-narrow/);
});

test('renewal at about two thirds of the TTL, never sooner than a second', () => {
  assert.is(renewalDelayMs(3600), 2_400_000);
  assert.is(renewalDelayMs(3), 2000);
  assert.is(renewalDelayMs(0), 1000);
});

test.run();
