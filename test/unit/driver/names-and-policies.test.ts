import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizePolicyName } from '../../../lib/vault/policy.js';
import { DRIVER_POLICY_HCL, VOLUME_POLICY_PREFIX, volumeTokenRole } from '../../../lib/driver/driver-policy.js';
import { renderVolumePolicy, renewalDelayMs } from '../../../lib/driver/volume-tokens.js';
import { looksLikeVaultPath, validateVolumeName, volumeDirName, volumePolicyName } from '../../../lib/driver/volume-name.js';

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

test('volume policy names are valid Vault policy names with the secretfs-vol- prefix', () => {
  for (const n of ['v1', 'secret/App-1', 'a@b.c']) {
    const p = volumePolicyName(n);
    assert.ok(p.startsWith(VOLUME_POLICY_PREFIX));
    assert.is(normalizePolicyName(p), p);
  }
});

test('the volume policy reads its path and below (KV v2 data and metadata) and nothing else', () => {
  const hcl = renderVolumePolicy('v1', 'secret/app-1', { mount: 'secret/', version: 2 });
  assert.match(hcl, /path "secret\/data\/app-1" \{\n  capabilities = \["read"\]/);
  assert.match(hcl, /path "secret\/data\/app-1\/\*"/);
  assert.match(hcl, /path "secret\/metadata\/app-1\/" \{\n  capabilities = \["list"\]/);
  assert.match(hcl, /auth\/token\/renew-self/);
  assert.not.match(hcl, /"(create|update|delete|sudo)"[^\n]*\n[^\n]*secret/);
  assert.not.match(hcl, /secret\/data\/\*"/);
});

test('the driver policy grants token and policy management only, no secret reads', () => {
  assert.match(DRIVER_POLICY_HCL, /path "auth\/token\/create\/secretfs-volume"/);
  assert.match(DRIVER_POLICY_HCL, /path "sys\/policies\/acl\/secretfs-vol-\*"/);
  assert.match(DRIVER_POLICY_HCL, /path "auth\/token\/revoke-accessor"/);
  assert.not.match(DRIVER_POLICY_HCL, /secret\//);
  assert.not.match(DRIVER_POLICY_HCL, /sudo/);
  assert.equal(volumeTokenRole().allowed_policies_glob, ['secretfs-vol-*']);
});

test('renewal at about two thirds of the TTL, never sooner than a second', () => {
  assert.is(renewalDelayMs(3600), 2_400_000);
  assert.is(renewalDelayMs(3), 2000);
  assert.is(renewalDelayMs(0), 1000);
});

test.run();
