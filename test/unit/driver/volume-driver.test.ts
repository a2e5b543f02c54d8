import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import { createVaultClient } from '../../../lib/vault/client.js';
import { DriverStateStore, type TokenSource, type VolumeDefinition } from '../../../lib/driver/state.js';
import { SecretVolumeDriver, type MountSpec, type VolumeCredential, type VolumeMounter, type VolumeTokens } from '../../../lib/driver/volume-driver.js';

class FakeMounter implements VolumeMounter {
  mounts: MountSpec[] = [];
  unmounts: string[] = [];
  active = new Set<string>();
  delayMs = 0;
  async mount(spec: MountSpec) {
    if (this.active.has(spec.mountpoint)) throw new Error(`double mount of ${spec.mountpoint}`);
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.mounts.push(spec);
    this.active.add(spec.mountpoint);
    return {
      unmount: async () => {
        await new Promise((r) => setTimeout(r, this.delayMs));
        this.unmounts.push(spec.name);
        this.active.delete(spec.mountpoint);
      },
    };
  }
}

class FakeTokens implements VolumeTokens {
  issued: string[] = [];
  revoked: string[] = [];
  /** While set, revoke() and revokeAccessor() wait for it (a Vault that does not answer yet). */
  gate?: Promise<void>;
  /** The next revocations fail (a Vault that cannot be reached). */
  failRevocations = 0;
  acquired: string[] = [];
  live = new Set<string>();
  /** `first`: the number of the first accessor minted (acc-<first>), so two processes' tokens differ. */
  constructor(private n = 0) {}
  private listener?: (name: string, accessor: string, source: TokenSource) => void;
  /** While set, a mint waits for it (a Vault slow to answer). */
  mintGate?: Promise<void>;
  async policiesFor(volume: { name: string; path: string }) {
    if (volume.path.startsWith('secret/forbidden')) throw new UsageError(`path ${volume.path} is not allowed for volumes the driver creates`);
    return [`secretfs-allow-${volume.name}`];
  }
  async issue(volume: { name: string; path: string }, wrapped?: string, policies?: string[]) {
    if (wrapped !== undefined && wrapped !== 'wrapped-ok') throw new UsageError('token must be a response-wrapped token');
    if (wrapped === undefined) {
      assert.equal(policies, await this.policiesFor(volume), 'minted with the policies Create found');
      await this.mintGate;
    }
    this.issued.push(volume.name);
    this.live.add(volume.name);
    return { accessor: `acc-${++this.n}`, tokenSource: (wrapped ? 'wrapped' : 'minted') as TokenSource, policies: [`secretfs-allow-${volume.name}`] };
  }
  async acquire(def: VolumeDefinition): Promise<VolumeCredential> {
    this.acquired.push(def.name);
    let accessor = def.accessor;
    if (!this.live.has(def.name)) {
      accessor = `acc-${++this.n}`;
      this.live.add(def.name);
    }
    return { vault: createVaultClient({ addr: 'http://127.0.0.1:9', token: 'fake' }), accessor, tokenSource: 'minted', policies: def.policies };
  }
  needsToken(): string | undefined {
    return undefined;
  }
  attempts = 0;
  private async revoking(accessor: string) {
    this.attempts++;
    await this.gate;
    if (this.failRevocations > 0) {
      this.failRevocations--;
      throw new Error('Vault unreachable');
    }
    this.revoked.push(accessor);
  }
  async revoke(def: VolumeDefinition) {
    await this.revoking(def.accessor);
  }
  async revokeAccessor(accessor: string) {
    await this.revoking(accessor);
  }
  onReplaced(l: (name: string, accessor: string, source: TokenSource) => void) {
    this.listener = l;
  }
  replace(name: string, accessor: string) {
    this.listener?.(name, accessor, 'minted');
  }
  close() {}
}

const test = suite('driver/volume-driver (reference counting, options, state; fake mounter and tokens)');
let dir: string;
let mounter: FakeMounter;
let tokens: FakeTokens;
let driver: SecretVolumeDriver;
let stateFile: string;

async function open(): Promise<SecretVolumeDriver> {
  return SecretVolumeDriver.open({ state: new DriverStateStore(stateFile, silentLogger), mounter, tokens, mountRoot: join(dir, 'mnt'), log: silentLogger });
}

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfs-vd-'));
  stateFile = join(dir, 'driver', 'state.json');
  mounter = new FakeMounter();
  tokens = new FakeTokens();
  driver = await open();
});
test.after.each(async () => {
  await driver.close();
  await rm(dir, { recursive: true, force: true });
});

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}

test('create, mount, unmount: the filesystem lives from the first Mount to the last Unmount', async () => {
  await driver.create('v1', { path: 'secret/app-1' });
  assert.is(await driver.path('v1'), undefined);
  assert.is((await driver.get('v1')).mountpoint, undefined);
  const mp = await driver.mount('v1', 'id-a');
  assert.ok(mp.startsWith(join(dir, 'mnt') + '/'));
  assert.ok(existsSync(mp));
  assert.is(await driver.mount('v1', 'id-b'), mp);
  assert.is(mounter.mounts.length, 1);
  assert.is(mounter.mounts[0].path, 'secret/app-1');
  assert.is(await driver.path('v1'), mp);
  assert.is((await driver.get('v1')).mountpoint, mp);
  await driver.unmount('v1', 'id-a');
  assert.is(mounter.unmounts.length, 0, 'still used by id-b');
  assert.is(await driver.path('v1'), mp);
  await driver.unmount('v1', 'id-b');
  assert.equal(mounter.unmounts, ['v1']);
  assert.is(await driver.path('v1'), undefined);
  // A new container after that mounts again.
  await driver.mount('v1', 'id-c');
  assert.is(mounter.mounts.length, 2);
});

test('a volume named by a path with one trailing slash (-v secret/app-1/:...) serves that path; -o path=... with one is the same', async () => {
  await driver.create('secret/app-1/', {});
  await driver.mount('secret/app-1/', 'id-a');
  assert.is(mounter.mounts[0].path, 'secret/app-1');
  assert.is((await driver.status()).volumes.find((v) => v.name === 'secret/app-1/')?.path, 'secret/app-1');
  await driver.create('v2', { path: 'secret/app-2/' });
  await driver.mount('v2', 'id-b');
  assert.is(mounter.mounts[1].path, 'secret/app-2');
  await rejects(driver.create('secret/app-3//', {}), /no empty, "\." or "\.\." segments/);
});

test('a repeated Mount with the same ID answers the same mountpoint and mounts once; each is balanced by an Unmount', async () => {
  await driver.create('v1', { path: 'secret/app-1' });
  const a = await driver.mount('v1', 'same');
  const b = await driver.mount('v1', 'same');
  assert.is(a, b);
  assert.is(mounter.mounts.length, 1);
  const st = (await driver.status()).volumes[0];
  assert.is(st.refCount, 2);
  assert.is(st.mountIds, 1);
  await driver.unmount('v1', 'same');
  assert.is(mounter.active.size, 1, 'moby balances every Setup with a Cleanup (docker cp on a running container)');
  await driver.unmount('v1', 'same');
  assert.is(mounter.active.size, 0);
});

test('concurrent Mount and Unmount of one volume do not race', async () => {
  mounter.delayMs = 5;
  await driver.create('v1', { path: 'secret/app-1' });
  const ids = Array.from({ length: 20 }, (_, i) => `id-${i}`);
  await Promise.all(ids.map((id) => driver.mount('v1', id)));
  assert.is(mounter.mounts.length, 1);
  await Promise.all(ids.map((id) => driver.unmount('v1', id)));
  assert.is(mounter.unmounts.length, 1);
  assert.is(mounter.active.size, 0);
  await Promise.all([driver.mount('v1', 'x'), driver.unmount('v1', 'x'), driver.mount('v1', 'y'), driver.unmount('v1', 'y')]);
  assert.is(mounter.active.size, 0);
});

test('Unmount of an unknown ID succeeds (dockerd after a driver restart) and changes nothing', async () => {
  await driver.create('v1', { path: 'secret/app-1' });
  await driver.mount('v1', 'a');
  await driver.unmount('v1', 'never-seen');
  assert.is(mounter.active.size, 1);
});

test('a volume name that is a Vault path is its path', async () => {
  await driver.create('secret/app-1', {});
  assert.is((await driver.status()).volumes[0].path, 'secret/app-1');
  const mp = await driver.mount('secret/app-1', 'a');
  assert.not.ok(mp.slice(join(dir, 'mnt').length + 1).includes('/'), 'one directory per volume');
});

test('a plain name without path is an Err naming the valid options; nothing is created', async () => {
  await rejects(driver.create('v1', {}), /needs -o path=.*valid options are path, token, uid/);
  assert.is((await driver.list()).length, 0);
  assert.is(tokens.issued.length, 0);
});

test('unknown options and invalid values are an Err naming the valid ones; nothing is created', async () => {
  await rejects(driver.create('v1', { path: 'secret/a', colour: 'red' }), /unknown volume option "colour": valid options are path, token, uid, gid, mode/);
  await rejects(driver.create('v1', { path: 'secret/a', mode: '999' }), /invalid mode.*valid options/);
  await rejects(driver.create('v1', { path: 'secret/a', listing: 'maybe' }), /listing/);
  await rejects(driver.create('v1', { path: '/etc/passwd' }), /absolute/);
  await rejects(driver.create('v1', { path: 'secret/../x' }), /\.\./);
  assert.is((await driver.list()).length, 0);
  assert.is(tokens.issued.length, 0);
  assert.not.ok(existsSync(stateFile));
});

test('a token that is not response-wrapped is refused; nothing is created', async () => {
  await rejects(driver.create('v1', { path: 'secret/a', token: 'hvs.plain' }), /response-wrapped/);
  assert.is((await driver.list()).length, 0);
  await driver.create('v2', { path: 'secret/a', token: 'wrapped-ok' });
  assert.is((await driver.status()).volumes[0].tokenSource, 'wrapped');
});

test('names with .., / escapes, NUL or control characters are refused everywhere', async () => {
  for (const name of ['..', '../x', 'a/../b', '/abs', 'a//b', 'a//', '/', 'a\u0000b', 'a\nb', 'a\\b', '.', 'x'.repeat(300)]) {
    await rejects(driver.create(name, { path: 'secret/a' }), /volume name/);
    await rejects(driver.mount(name, 'id'), /volume name/);
    await rejects(driver.get(name), /volume name/);
  }
  assert.is(tokens.issued.length, 0);
});

test('unknown volumes are an Err for Remove, Mount, Unmount, Path and Get', async () => {
  for (const call of [driver.remove('nope'), driver.mount('nope', 'i'), driver.unmount('nope', 'i'), driver.path('nope'), driver.get('nope')]) {
    await rejects(call, /no such volume: nope/);
  }
});

test('Create of an existing volume with the same definition is accepted; other options are refused', async () => {
  await driver.create('v1', { path: 'secret/a', mode: '0400' });
  await driver.create('v1', { path: 'secret/a', mode: '0400' });
  assert.is(tokens.issued.length, 1);
  await rejects(driver.create('v1', { path: 'secret/b' }), /already exists/);
});

test('Create answers once the volume is on disk, before its token is minted; Mount (same lock) waits for the mint and uses it', async () => {
  const vault = gate();
  tokens.mintGate = vault.promise;
  await within2s(driver.create('v1', { path: 'secret/a' }), 'Create');
  assert.equal(tokens.issued, [], 'answered before the mint');
  const saved = JSON.parse(await readFile(stateFile, 'utf8')).volumes.v1;
  assert.equal([saved.path, saved.accessor, saved.tokenSource, saved.policies], ['secret/a', '', 'minted', ['secretfs-allow-v1']]);
  let mounted = false;
  const mount = driver.mount('v1', 'c1').then((mp) => ((mounted = true), mp));
  await new Promise((r) => setTimeout(r, 30));
  assert.not.ok(mounted, 'Mount waits for the mint');
  vault.release();
  await mount;
  assert.equal(tokens.issued, ['v1']);
  assert.equal(tokens.acquired.length >= 1 && tokens.live.has('v1'), true);
  assert.is(JSON.parse(await readFile(stateFile, 'utf8')).volumes.v1.accessor, 'acc-1', 'the minted token\'s accessor saved');
  assert.is(mounter.mounts.length, 1);
});

test('Create of a path no allowed path covers is refused at Create, and nothing is created', async () => {
  await rejects(driver.create('v1', { path: 'secret/forbidden/x' }), /path secret\/forbidden\/x is not allowed/);
  assert.equal(await driver.list(), []);
  assert.equal(tokens.issued, []);
});

test('Remove revokes the token, forgets the volume and refuses while mounted', async () => {
  await driver.create('v1', { path: 'secret/a' });
  await driver.mount('v1', 'a');
  await rejects(driver.remove('v1'), /in use/);
  await driver.unmount('v1', 'a');
  await driver.remove('v1');
  await driver.settled();
  assert.equal(tokens.revoked, ['acc-1']);
  assert.is((await driver.list()).length, 0);
  const state = JSON.parse(await readFile(stateFile, 'utf8'));
  assert.equal(state, { version: 1, volumes: {} }, 'nothing left to revoke');
});

/** `p`, or a failure after 2 s: an operation that should not wait for Vault. */
function within2s<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} waited for Vault`)), 2000).unref())]);
}

/** Resolves `release()` later: a Vault that answers only when told. */
function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

test('Remove answers once the revocation is recorded on disk, before Vault has revoked; the next operation on the name waits for it', async () => {
  await driver.create('v1', { path: 'secret/a' });
  const vault = gate();
  tokens.gate = vault.promise;
  await within2s(driver.remove('v1'), 'Remove');
  assert.equal(tokens.revoked, [], 'answered before the revocation ended');
  const state = JSON.parse(await readFile(stateFile, 'utf8'));
  assert.equal(state.volumes, {});
  assert.equal(state.revoking.map((r: { volume: string; accessor: string }) => [r.volume, r.accessor]), [['v1', 'acc-1']]);
  assert.equal(driver.pendingRevocations().map((r) => r.accessor), ['acc-1']);
  // A new volume of the same name is created only once the old token is revoked.
  tokens.gate = undefined;
  let created = false;
  const again = driver.create('v1', { path: 'secret/a' }).then(() => (created = true));
  await new Promise((r) => setTimeout(r, 30));
  assert.not.ok(created, 'Create of the same name waits for the revocation');
  vault.release();
  await again;
  await driver.settled();
  assert.equal(tokens.revoked, ['acc-1']);
  assert.equal(driver.pendingRevocations(), []);
  const after = JSON.parse(await readFile(stateFile, 'utf8'));
  assert.is(after.revoking, undefined);
  assert.equal(Object.keys(after.volumes), ['v1']);
});

test('a driver killed after answering Remove, before Vault revoked: the next driver on the state revokes the token at start', async () => {
  await driver.create('v1', { path: 'secret/a' });
  const vault = gate();
  tokens.gate = vault.promise;
  await within2s(driver.remove('v1'), 'Remove');
  // The first driver never gets an answer (it is "killed": never closed until the end of the test).
  const first = { driver, tokens };
  tokens = new FakeTokens(100);
  driver = await open();
  await driver.settled();
  assert.equal(tokens.revoked, ['acc-1'], 'revoked by accessor at start');
  assert.equal(driver.pendingRevocations(), []);
  assert.is(JSON.parse(await readFile(stateFile, 'utf8')).revoking, undefined);
  vault.release();
  await first.driver.close();
});

test('a revocation that fails (Vault unreachable) stays recorded and is tried again until it succeeds', async () => {
  await driver.close();
  driver = await SecretVolumeDriver.open({ state: new DriverStateStore(stateFile, silentLogger), mounter, tokens, mountRoot: join(dir, 'mnt'), log: silentLogger, revokeRetryMs: { first: 10, max: 20 } });
  await driver.create('v1', { path: 'secret/a' });
  tokens.failRevocations = Number.POSITIVE_INFINITY;
  await driver.remove('v1');
  const deadline = Date.now() + 5000;
  while (tokens.attempts < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(tokens.attempts >= 3, `tried again (${tokens.attempts} attempts)`);
  assert.equal(tokens.revoked, []);
  assert.equal(JSON.parse(await readFile(stateFile, 'utf8')).revoking.map((r: { accessor: string }) => r.accessor), ['acc-1']);
  tokens.failRevocations = 0;
  while (tokens.revoked.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await driver.settled();
  assert.equal(tokens.revoked, ['acc-1']);
  assert.is(JSON.parse(await readFile(stateFile, 'utf8')).revoking, undefined);
});

test('a Remove whose record cannot be saved fails and keeps the volume (nothing is revoked unrecorded)', async () => {
  await driver.create('v1', { path: 'secret/a' });
  await driver.settled(); // the mint after Create's answer, and its save
  await rm(join(dir, 'driver'), { recursive: true, force: true });
  await writeFile(join(dir, 'driver'), 'not a directory');
  await rejects(driver.remove('v1'), /ENOTDIR|EEXIST|not a directory/);
  assert.equal((await driver.list()).map((v) => v.name), ['v1']);
  assert.equal(driver.pendingRevocations(), []);
  assert.equal(tokens.revoked, []);
  await rm(join(dir, 'driver'), { force: true });
});

test('the state file is 0600 and holds definitions and accessors, never the token option', async () => {
  await driver.create('v1', { path: 'secret/a', token: 'wrapped-ok', uid: '1000' });
  const st = await stat(stateFile);
  assert.is(st.mode & 0o777, 0o600);
  const text = await readFile(stateFile, 'utf8');
  assert.not.ok(text.includes('wrapped-ok'));
  const v = JSON.parse(text).volumes.v1;
  assert.equal(Object.keys(v).sort(), ['accessor', 'createdAt', 'name', 'options', 'path', 'policies', 'tokenSource']);
  assert.equal(v.options, { uid: '1000' });
  assert.is(v.accessor, 'acc-1');
});

test('Get and List show path, state and options but no token or accessor', async () => {
  await driver.create('v1', { path: 'secret/a', token: 'wrapped-ok' });
  const info = await driver.get('v1');
  const text = JSON.stringify(await driver.list());
  assert.not.ok(text.includes('wrapped-ok'));
  assert.not.ok(text.includes('acc-'));
  assert.is(info.status?.path, 'secret/a');
  assert.type(info.createdAt, 'string');
});

test('after a restart volumes come back from state, unmounted, and a Mount re-acquires a token and saves the new accessor', async () => {
  await driver.create('v1', { path: 'secret/a', mode: '0440' });
  await driver.mount('v1', 'a');
  await driver.close();
  assert.is(mounter.active.size, 0, 'close unmounts everything');
  const before = JSON.parse(await readFile(stateFile, 'utf8')).volumes.v1.accessor;
  assert.is(before, 'acc-1');
  tokens = new FakeTokens(100); // a fresh process holds no tokens; its first mints acc-101
  driver = await open();
  const [vol] = (await driver.status()).volumes;
  assert.is(vol.name, 'v1');
  assert.is(vol.mounted, false);
  await driver.mount('v1', 'b');
  assert.equal(mounter.mounts.at(-1)!.options, { mode: '0440' });
  const state = JSON.parse(await readFile(stateFile, 'utf8'));
  assert.is(state.volumes.v1.accessor, 'acc-101', 'the accessor the fresh token store minted replaced acc-1 in the state');
  assert.equal(tokens.acquired, ['v1']);
});

test('a replaced token (renewal failed, re-minted) updates the saved accessor', async () => {
  await driver.create('v1', { path: 'secret/a' });
  await driver.settled(); // a token is replaced only once it was minted
  tokens.replace('v1', 'acc-new');
  await new Promise((r) => setTimeout(r, 50));
  const state = JSON.parse(await readFile(stateFile, 'utf8'));
  assert.is(state.volumes.v1.accessor, 'acc-new');
});

test('Capabilities says local scope', () => {
  assert.equal(driver.capabilities(), { scope: 'local' });
});

test('after close, Create and Mount are refused', async () => {
  await driver.create('v1', { path: 'secret/a' });
  await driver.close();
  await rejects(driver.mount('v1', 'a'), /shutting down/);
  await rejects(driver.create('v2', { path: 'secret/a' }), /shutting down/);
});

test.run();
