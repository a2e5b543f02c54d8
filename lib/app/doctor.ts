import { readDriverAuthStatus } from '../driver/approle-login.js';
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { DockerClient } from '../docker/client.js';
import { socketAnswers } from '../driver/server.js';
import { driverStatus } from '../driver/process.js';
import { recreateVolumeCommand } from '../access/volume-access.js';
import { findDeadMounts } from '../fs/mount-table.js';
import type { Paths } from '../paths.js';
import { vaultClientFromConfig } from '../vault/client.js';
import { kvApiPath } from '../vault/kv-path.js';
import { resolveKvMount } from '../vault/kv.js';
import { capabilitiesSelf, readHealth } from '../vault/sys.js';
import { lookupSelf } from '../vault/tokens.js';
import { fuseBindingProblem } from '../fs/fuse-binding.js';
import { driverDown, storeDown } from '../daemon/hints.js';
import { rebootReport } from '../daemon/boot.js';
import { DRIVER_START_COMMAND } from '../daemon/daemons.js';

/** One check's outcome, with the one next step when it failed. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** Passes, but something here does not last (e.g. nothing brings the daemons back after a reboot). */
  warn?: boolean;
  detail: string;
  hint?: string;
  /** The things this check found one by one (e.g. each volume that needs a new token), each with its fix. */
  items?: Array<{ name: string; detail: string; fix?: string }>;
}

export interface DoctorDeps {
  paths: Paths;
  /** Undefined when there is no config yet. */
  config?: Config;
  docker: DockerClient;
}

const FUSERMOUNTS = ['/bin/fusermount', '/usr/bin/fusermount', '/bin/fusermount3', '/usr/bin/fusermount3'];

async function exists(path: string, mode = constants.F_OK): Promise<boolean> {
  return access(path, mode).then(() => true, () => false);
}

async function check(name: string, run: () => Promise<Omit<CheckResult, 'name'>>): Promise<CheckResult> {
  try {
    return { name, ...(await run()) };
  } catch (err) {
    const e = err as { message?: string; hint?: string };
    return { name, ok: false, detail: e.message ?? String(err), hint: e.hint };
  }
}

/** Runs every check; none throws. Exit 0 from `doctor` only when all pass. */
export async function runDoctor(deps: DoctorDeps): Promise<CheckResult[]> {
  const { paths, config, docker } = deps;
  const results: CheckResult[] = [];
  results.push(
    await check('docker engine', async () => ({ ok: true, detail: `dockerd ${await docker.serverVersion()} answers` })),
  );
  results.push(
    await check('fuse', async () => {
      const dev = await exists('/dev/fuse', constants.R_OK | constants.W_OK);
      const tool = (await Promise.all(FUSERMOUNTS.map((p) => exists(p)))).some(Boolean);
      return dev && tool
        ? { ok: true, detail: '/dev/fuse and fusermount are present' }
        : { ok: false, detail: `${dev ? '' : '/dev/fuse missing or not accessible; '}${tool ? '' : 'fusermount missing'}`, hint: 'apt-get install -y fuse3 (in a container: --device /dev/fuse --cap-add SYS_ADMIN)' };
    }),
  );
  results.push(
    await check('fuse binding', async () => {
      const problem = fuseBindingProblem();
      return problem ? { ok: false, detail: problem.message, hint: problem.hint } : { ok: true, detail: 'fuse-native loads (libfuse.so.2 found)' };
    }),
  );
  // With init --managed dockerd runs the driver: its socket is dockerd's, and the plugin's state says it all.
  const managed = config?.managedPlugin;
  if (managed) results.push(await check('managed plugin', () => managedPluginCheck(docker, managed)));
  else results.push(
    await check('driver socket', async () => {
      if (await socketAnswers(paths.driverSocket)) return { ok: true, detail: `${paths.driverSocket} answers` };
      // Died (its pid file left behind) or not running, and the one command that starts it again.
      const down = await driverDown(paths);
      return { ok: false, detail: down?.detail ?? `nothing answers on ${paths.driverSocket}`, hint: down?.hint ?? DRIVER_START_COMMAND };
    }),
  );
  results.push(await check('unknown volume', () => timeUnknownVolumeLookup(docker)));
  results.push(await rebootCheck(paths, config));
  if (!config) {
    results.push({ name: 'config', ok: false, detail: `no config at ${paths.configFile}`, hint: 'docker secretfs init' });
    return results;
  }
  const vault = vaultClientFromConfig(config);
  const health = await check('vault', async () => {
    const h = await readHealth(vault);
    const kind = config.backend === 'embedded' ? 'embedded store' : 'Vault';
    if (!h.initialized) return { ok: false, detail: `${kind} at ${config.vaultAddr} is not initialized`, hint: 'vault operator init' };
    if (h.sealed) return { ok: false, detail: `${kind} at ${config.vaultAddr} is sealed`, hint: 'vault operator unseal' };
    return { ok: true, detail: `${kind} ${h.version} at ${config.vaultAddr}: initialized, unsealed` };
  });
  if (!health.ok && config.backend === 'embedded') {
    const down = await storeDown(paths, config.vaultAddr);
    if (down) Object.assign(health, { detail: down.detail, hint: down.hint });
  }
  results.push(health);
  if (!health.ok) return results;
  const token = await check('token', async () => {
    if (!config.vaultToken) return { ok: false, detail: 'no token', hint: 'set VAULT_TOKEN or run docker secretfs init' };
    const info = await lookupSelf(vault);
    const ttl = info.ttlSeconds === 0 ? 'no expiry' : `expires in ${info.ttlSeconds}s`;
    return { ok: true, detail: `valid (${info.displayName}, policies ${info.policies.join(',')}, ${ttl})` };
  });
  results.push(token);
  if (!token.ok) return results;
  const kv = await check('kv version', async () => {
    const mount = await resolveKvMount(vault, config.defaultPath);
    const caps = (await capabilitiesSelf(vault, [kvApiPath(mount, config.defaultPath, 'data')]))[kvApiPath(mount, config.defaultPath, 'data')] ?? [];
    const canRead = caps.includes('read') || caps.includes('root');
    return {
      ok: canRead,
      detail: `${config.defaultPath} is on ${mount.mount} (KV v${mount.version}); capabilities: ${caps.join(', ') || 'none'}`,
      hint: canRead ? undefined : `grant read on ${config.defaultPath}: docker secretfs policy create NAME --read ${config.defaultPath}`,
    };
  });
  results.push(kv);
  const auth = await readDriverAuthStatus(paths);
  if (auth) {
    results.push({
      name: 'driver login',
      ok: auth.state === 'ok',
      detail: auth.state === 'ok' ? `AppRole: ${auth.message}; ${auth.logins} login(s)${auth.tokenExpires ? `, token until ${auth.tokenExpires}` : ''}` : `AppRole: ${auth.message}`,
      ...(auth.state === 'ok' ? {} : { hint: 'give the driver a new secret_id: docker secretfs init --auth approle --force (or --role-id ID --secret-id @FILE)' }),
    });
  }
  results.push(await check('volume tokens', () => volumeTokensCheck(paths)));
  results.push(
    await check('stale mounts', async () => {
      const stale = await findDeadMounts(paths.mountRoot);
      return stale.length === 0
        ? { ok: true, detail: `none under ${paths.mountRoot}` }
        : { ok: false, detail: `${stale.length} dead FUSE mount(s): ${stale.join(', ')}`, hint: 'docker secretfs driver stop && docker secretfs driver start (cleans them), or fusermount -u -z DIR' };
    }),
  );
  return results;
}

/**
 * Volumes whose token is gone and whose policies the driver may not mint again (a volume created
 * from a wrapped token an administrator made): they serve nothing until an administrator gives
 * them a new token, which doctor names per volume. From the running driver, or its state file.
 */
async function volumeTokensCheck(paths: Paths): Promise<Omit<CheckResult, 'name'>> {
  const { volumes } = await driverStatus(paths);
  const needing = volumes.filter((v) => v.needsToken);
  if (needing.length === 0) return { ok: true, detail: `${volumes.length} volume(s); none needs a new token` };
  const items = needing.map((v) => ({ name: v.name, detail: v.needsToken!, fix: recreateVolumeCommand(v.name, v.path) }));
  return {
    ok: false,
    detail: `${needing.length} volume(s) need a new token: ${items.map((i) => i.detail).join('; ')}`,
    hint: items.map((i) => i.fix).join('; '),
    items,
  };
}

/** The managed plugin (init --managed): installed and enabled, or the command that fixes it. */
async function managedPluginCheck(docker: DockerClient, name: string): Promise<Omit<CheckResult, 'name'>> {
  const enabled = await docker.pluginEnabled(name);
  if (enabled) return { ok: true, detail: `the managed plugin ${name} is enabled (dockerd runs the driver)` };
  if (enabled === false) return { ok: false, detail: `the managed plugin ${name} is disabled`, hint: `docker plugin enable ${name}` };
  return { ok: false, detail: `the engine has no plugin ${name}`, hint: 'docker secretfs init --managed (builds and enables it)' };
}

/** dockerd asks every legacy volume driver it has met about an unknown volume name; a dead one costs it ~30 s per lookup. */
export const SLOW_UNKNOWN_VOLUME_MS = 2000;
/** How long doctor waits for that lookup before it reports it as stalled. */
const LOOKUP_WAIT_MS = 5000;

/**
 * Times `docker volume inspect` of a name no driver knows: what `docker run -v new:/x` and
 * `docker compose up` of a new project pay on every new name. A dead host driver that dockerd
 * activated once makes it wait ~30 s (until dockerd restarts); a managed plugin does not.
 */
async function timeUnknownVolumeLookup(docker: DoctorDeps['docker']): Promise<Omit<CheckResult, 'name'>> {
  const started = Date.now();
  // Bounded: past the threshold the answer is known, and doctor must not wait dockerd's ~30 s per dead driver.
  const answered = await docker.inspectVolume(`secretfs-doctor-${randomBytes(6).toString('hex')}`, { timeoutMs: LOOKUP_WAIT_MS }).then(
    () => true,
    (err) => {
      if (Date.now() - started >= LOOKUP_WAIT_MS) return false;
      throw err;
    },
  );
  const ms = Date.now() - started;
  if (answered && ms < SLOW_UNKNOWN_VOLUME_MS) return { ok: true, detail: `a lookup of an unknown volume name took ${ms} ms` };
  return {
    ok: false,
    detail: `a lookup of an unknown volume name took ${answered ? `${(ms / 1000).toFixed(1)} s` : `more than ${LOOKUP_WAIT_MS / 1000} s`}: dockerd is waiting on a volume driver that does not answer (a stopped or dead host driver)`,
    hint: 'docker secretfs driver start (or restart dockerd so it forgets the driver; the managed plugin, init --managed, avoids this)',
  };
}

/** What a reboot brings back: with systemd, the enabled units; without, nothing init started (a warning, not a failure). */
async function rebootCheck(paths: Paths, config: Config | undefined): Promise<CheckResult> {
  const report = await rebootReport(paths, { embedded: !config || config.backend === 'embedded', hostDriver: !config?.managedPlugin, storeAddress: config?.vaultAddr });
  return { name: 'after a reboot', ok: true, ...(report.ok ? {} : { warn: true }), detail: report.detail };
}
