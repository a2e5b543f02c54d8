import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_DRIVER_NAME, type Paths } from '../paths.js';

/**
 * systemd units that bring the embedded store and the host driver back after a reboot or a
 * crash. Each unit runs the CLI's own `start` (Type=forking): it returns once the daemon
 * answers, so `Before=docker.service` means dockerd starts with the driver already serving (and
 * restarts its containers then), and the store comes up before the driver. Units hold no secret:
 * the driver reads its credential from its 0600 file, the store its key from its data dir.
 */

/** Where systemd runs (sd_booted): /run/systemd/system exists. */
export function systemdRuns(root = '/'): boolean {
  return existsSync(join(root, 'run/systemd/system'));
}

/** The unit directory for units an administrator installs. */
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/** The units' names: `secretfs-store.service` and `secretfs-driver.service` for the default driver, `secretfs-<name>-…` for another. */
export function unitNames(paths: Paths): { store: string; driver: string } {
  const base = paths.driverName === DEFAULT_DRIVER_NAME ? 'secretfs' : `secretfs-${paths.driverName}`;
  return { store: `${base}-store.service`, driver: `${base}-driver.service` };
}

/** The variables a unit passes on: where the files are and how the driver is named; never a token. */
const PASSED_ON = ['SECRETFS_DRIVER_NAME', 'SECRETFS_PLUGIN_DIR', 'SECRETFS_LOG_LEVEL', 'SECRETFS_VOLUME_TOKEN_TTL'];

export interface UnitOptions {
  paths: Paths;
  /** The caller's environment: only SECRETFS_HOME (from paths) and PASSED_ON are taken from it. */
  env: NodeJS.ProcessEnv;
  /** The Node.js binary and the built CLI entry (dist/cli/main.js). */
  node: string;
  cliEntry: string;
  /** The store's `server start` flags (e.g. `--addr URL`) when the embedded store is used; none with an external Vault. */
  storeArgs?: readonly string[];
  /** The host driver gets a unit (default); not when the managed plugin runs the driver (dockerd starts it). */
  hostDriver?: boolean;
}

/** A rendered unit file. */
export interface Unit {
  name: string;
  text: string;
}

/** One word of an ExecStart= line: systemd's quoting, `%` and `$` escaped (they are specifiers and variables there). */
function execWord(s: string): string {
  const escaped = s.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@+=:,./$%-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function environmentLine(name: string, value: string): string {
  if (/[\n\r]/.test(value)) throw new Error(`${name} holds a line break`);
  return `Environment="${`${name}=${value}`.replace(/%/g, '%%').replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The store's unit (when `storeArgs` is given) and the host driver's, rendered from one place:
 * ExecStart runs the CLI's `start` with this install's Node and entry, the environment names
 * the home and the driver, the store starts before the driver and the driver before dockerd,
 * and both restart on failure.
 */
export function renderUnits(opts: UnitOptions): Unit[] {
  const names = unitNames(opts.paths);
  const environment = [environmentLine('SECRETFS_HOME', opts.paths.home)];
  for (const name of PASSED_ON) if (opts.env[name]) environment.push(environmentLine(name, opts.env[name]!));
  const exec = (...args: string[]) => [opts.node, opts.cliEntry, ...args].map(execWord).join(' ');
  const service = (pidFile: string, start: string[], stop: string[]) => [
    '[Service]',
    'Type=forking',
    `PIDFile=${pidFile}`,
    ...environment,
    `ExecStart=${exec(...start)}`,
    `ExecStop=${exec(...stop)}`,
    'Restart=on-failure',
    'RestartSec=2',
    'TimeoutStartSec=60',
    'TimeoutStopSec=40',
  ];
  const units: Unit[] = [];
  if (opts.storeArgs) {
    units.push({
      name: names.store,
      text: [
        '[Unit]',
        `Description=docker secretfs embedded store (${opts.paths.home})`,
        'After=network.target',
        `Before=${opts.hostDriver === false ? '' : `${names.driver} `}docker.service`,
        '',
        ...service(opts.paths.storePidFile, ['server', 'start', ...opts.storeArgs], ['server', 'stop']),
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
      ].join('\n'),
    });
  }
  if (opts.hostDriver === false) return units;
  units.push({
    name: names.driver,
    text: [
      '[Unit]',
      `Description=docker secretfs volume driver ${opts.paths.driverName} (${opts.paths.home})`,
      `After=local-fs.target network.target${opts.storeArgs ? ` ${names.store}` : ''}`,
      ...(opts.storeArgs ? [`Wants=${names.store}`] : []),
      'Before=docker.service',
      '',
      ...service(opts.paths.driverPidFile, ['driver', 'start'], ['driver', 'stop']),
      '',
      '[Install]',
      'WantedBy=multi-user.target docker.service',
      '',
    ].join('\n'),
  });
  return units;
}

/** Runs systemctl with these arguments. */
export type Systemctl = (args: string[]) => Promise<void>;

/** The real systemctl (bounded: 90 s, a start waits for the daemon to answer). */
export const systemctl: Systemctl = async (args) => {
  await promisify(execFile)('systemctl', args, { timeout: 90_000 });
};

/**
 * Writes the units (only those whose text changed), reloads systemd, enables them for boot and
 * starts them (a daemon already running is kept: its `start` returns it). Resolves to whether
 * any unit file changed.
 */
export async function installUnits(units: Unit[], opts: { unitDir?: string; run?: Systemctl } = {}): Promise<boolean> {
  const dir = opts.unitDir ?? SYSTEM_UNIT_DIR;
  const run = opts.run ?? systemctl;
  await mkdir(dir, { recursive: true });
  let changed = false;
  for (const unit of units) {
    const file = join(dir, unit.name);
    const old = await readFile(file, 'utf8').catch(() => undefined);
    if (old === unit.text) continue;
    await writeFile(file, unit.text, { mode: 0o644 });
    changed = true;
  }
  if (changed) await run(['daemon-reload']);
  await run(['enable', ...units.map((u) => u.name)]);
  await run(['start', ...units.map((u) => u.name)]);
  return changed;
}

/** Whether a unit is installed and enabled for boot (its link in a `.wants` directory of a target it names). */
export async function unitEnabled(name: string, unitDir = SYSTEM_UNIT_DIR): Promise<boolean> {
  const text = await readFile(join(unitDir, name), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  const targets = (/^WantedBy=(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/).filter(Boolean);
  return targets.some((t) => existsSync(join(unitDir, `${t}.wants`, name)));
}

