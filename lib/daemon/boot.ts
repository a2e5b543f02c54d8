import type { Paths } from '../paths.js';
import { DRIVER_START_COMMAND, storeStartCommand } from './daemons.js';
import { SYSTEM_UNIT_DIR, installUnits, renderUnits, systemdRuns, unitEnabled, unitNames, type Systemctl, type UnitOptions } from './systemd.js';

/**
 * After a reboot or a crash: what brings the daemons back (systemd units) and, where nothing
 * does, what to say and what to run then. `root`, `unitDir` and `run` move it for tests.
 */

/** Whether the daemons of this set-up come back after a reboot: ok, or a warning saying what does not and what to run. */
export interface RebootReport {
  ok: boolean;
  detail: string;
}

/**
 * What a reboot brings back. With systemd: the enabled units (the store's only with the embedded
 * store). Without: nothing, and the commands to run after one. `root`/`unitDir` move it for tests.
 */
export async function rebootReport(paths: Paths, opts: { embedded: boolean; hostDriver?: boolean; storeAddress?: string; root?: string; unitDir?: string }): Promise<RebootReport> {
  const names = unitNames(paths);
  const hostDriver = opts.hostDriver !== false;
  const wanted = [...(opts.embedded ? [names.store] : []), ...(hostDriver ? [names.driver] : [])];
  const what = [...(opts.embedded ? ['the embedded store'] : []), ...(hostDriver ? ['the volume driver'] : [])].join(' and ');
  if (wanted.length === 0) return { ok: true, detail: 'nothing to bring back: the managed plugin is started by dockerd, and Vault is not ours' };
  if (systemdRuns(opts.root)) {
    const unitDir = opts.unitDir ?? SYSTEM_UNIT_DIR;
    const missing = [];
    for (const name of wanted) if (!(await unitEnabled(name, unitDir))) missing.push(name);
    if (missing.length === 0) return { ok: true, detail: `systemd brings ${what} back after a reboot or a crash (${wanted.join(', ')} enabled)` };
    return { ok: false, detail: `systemd runs, but ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not installed and enabled: ${what} will not come back after a reboot; \`docker secretfs init\` installs ${missing.length === 1 ? 'it' : 'them'}` };
  }
  const commands = [...(opts.embedded ? [await storeStartCommand(paths, opts.storeAddress)] : []), ...(hostDriver ? [DRIVER_START_COMMAND] : [])].map((c) => `\`${c}\``);
  return {
    ok: false,
    detail: `no systemd here: nothing brings ${what} back after a reboot or a crash; after one, run ${commands.join(' and then ')}${hostDriver ? ' (or run the driver as the managed plugin, `docker secretfs init --managed`, which dockerd starts itself)' : ''}`,
  };
}

/** What keepUpAfterReboot did. */
export interface BootOutcome {
  /** Units are installed and enabled (systemd runs). */
  installed: boolean;
  /** A unit file was written or rewritten. */
  changed: boolean;
  detail: string;
}

/**
 * Where systemd runs: installs, enables and starts the units of this set-up (the store's only
 * with `storeArgs`). Where it does not: installs nothing and says what will not come back after
 * a reboot, with the commands to run then.
 */
export async function keepUpAfterReboot(opts: UnitOptions & { storeAddress?: string; root?: string; unitDir?: string; run?: Systemctl }): Promise<BootOutcome> {
  if (!systemdRuns(opts.root)) {
    const report = await rebootReport(opts.paths, { embedded: opts.storeArgs !== undefined, hostDriver: opts.hostDriver, storeAddress: opts.storeAddress, root: opts.root });
    return { installed: false, changed: false, detail: report.detail };
  }
  const units = renderUnits(opts);
  if (units.length === 0) return { installed: false, changed: false, detail: 'nothing to install: the managed plugin is started by dockerd, and Vault is not ours' };
  const changed = await installUnits(units, { unitDir: opts.unitDir, run: opts.run });
  return { installed: true, changed, detail: `${changed ? 'installed and enabled' : 'enabled'} ${units.map((u) => u.name).join(', ')}: systemd starts them at boot (the driver before dockerd) and again after a crash` };
}
