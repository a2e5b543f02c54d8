import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfigFile } from '../config.js';
import { ConfigError, DockerError, UsageError } from '../errors.js';
import type { DockerClient } from '../docker/client.js';
import type { CapturedDockerCli } from '../docker/run-cli.js';
import { readDriverCredential } from '../driver/credential.js';
import { driverStatus, type DriverStatus } from '../driver/process.js';
import { socketAnswers } from '../driver/server.js';
import type { Paths } from '../paths.js';
import { ensurePrivateDir } from '../private-files.js';
import { pluginConfig, readPluginTemplate } from './config.js';
import { buildRootfs, type RootfsSummary } from './rootfs.js';

/**
 * Refuses a host driver for an install whose driver is the managed plugin (`init --managed`): both
 * would serve from one state file. Nothing to say when the config records no plugin.
 */
export async function refuseHostDriverWhenManaged(paths: Paths): Promise<void> {
  const managed = await recordedManagedPlugin(paths);
  if (!managed) return;
  throw new UsageError(`this install runs the driver as the managed plugin ${managed} (init --managed); a host driver would share its state`, {
    hint: `docker plugin enable ${managed}; to go back to a host driver: docker plugin disable ${managed} && docker plugin rm ${managed} && docker secretfs init --no-managed`,
  });
}

/** The managed plugin this install's config records (init --managed), or undefined for a host driver. */
export async function recordedManagedPlugin(paths: Paths): Promise<string | undefined> {
  return (await readConfigFile(paths).catch(() => undefined))?.managedPlugin;
}

/**
 * `driver status` of an install whose driver is the managed plugin: whether the engine has it and
 * runs it (enabled), and the volumes of the state file the plugin shares with this home (its
 * socket is the engine's, not this host's, so mount states are not asked; they read as unmounted).
 */
export async function managedDriverStatus(paths: Paths, docker: Pick<DockerClient, 'pluginEnabled'>, name: string): Promise<DriverStatus> {
  const [enabled, recorded] = await Promise.all([docker.pluginEnabled(name), driverStatus(paths)]);
  return { ...recorded, running: enabled === true, pid: undefined, managedPlugin: { name, installed: enabled !== undefined, enabled: enabled === true } };
}

/** The name `plugin create` and `init --managed` give the plugin when none is given. */
export const DEFAULT_PLUGIN_NAME = 'secretfs/secretfs:latest';

/** Bounds of the docker CLI steps: the create sends the whole rootfs (~120 MB) to dockerd, which stores it compressed. */
const CREATE_TIMEOUT_MS = 300_000;
const ENABLE_TIMEOUT_MS = 90_000;
const QUICK_TIMEOUT_MS = 30_000;

/** What the plugin code needs around it: the install, docker, and a way to show progress. */
export interface PluginDeps {
  paths: Paths;
  /** The install the plugin is built from (package.json, dist/, node_modules/). */
  packageRoot: string;
  /** Runs `docker ARGS` (with the CLI's global flags) and captures its output. */
  docker(args: string[], options?: { timeoutMs?: number }): Promise<CapturedDockerCli>;
  /** The engine's unix socket on this host (from -H or DOCKER_HOST), mounted into the plugin for on_change; none for a TCP engine. */
  dockerSocket?: string;
  /** Shows progress for one step (a spinner on a TTY). */
  step<T>(title: string, work: () => Promise<T>, done: (result: T) => string): Promise<T>;
}

/** A plugin as dockerd reports it. */
export interface PluginState {
  id: string;
  name: string;
  enabled: boolean;
}

/** What `plugin create` did. */
export interface CreatedPlugin extends PluginState {
  rootfs: RootfsSummary;
  /** Milliseconds of each part: building the rootfs, `docker plugin create`, `docker plugin enable`. */
  timings: { buildMs: number; createMs: number; enableMs: number };
}

/**
 * Docker's reference form of a plugin name, with the tag `latest` when none is given (as
 * `docker plugin create` stores it). A name Docker would refuse is a UsageError here, before any work.
 */
export function normalizePluginName(name: string): string {
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
  const label = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
  const host = `(?:${label}(?:\\.${label})*(?::[0-9]+)?/)?`;
  const re = new RegExp(`^(${host}${component}(?:/${component})*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?$`);
  const m = re.exec(name);
  if (!m) throw new UsageError(`${JSON.stringify(name)} is not a plugin name Docker accepts`, { hint: `use lower-case [a-z0-9._-] components separated by "/", and an optional :tag, e.g. ${DEFAULT_PLUGIN_NAME}` });
  return `${m[1]}:${m[2] ?? 'latest'}`;
}

/** The plugin of that name on the engine, or undefined when it has none. */
export async function inspectPlugin(deps: Pick<PluginDeps, 'docker'>, name: string): Promise<PluginState | undefined> {
  const r = await deps.docker(['plugin', 'inspect', '--format', '{{json .}}', name], { timeoutMs: QUICK_TIMEOUT_MS });
  if (r.code !== 0) {
    if (/not found|no such plugin/i.test(r.stderr)) return undefined;
    throw new DockerError(`docker plugin inspect ${name}: ${r.stderr.trim()}`);
  }
  const p = JSON.parse(r.stdout) as { Id: string; Name: string; Enabled: boolean };
  return { id: p.Id, name: p.Name, enabled: p.Enabled };
}

async function dockerStep(deps: PluginDeps, args: string[], timeoutMs: number): Promise<string> {
  const r = await deps.docker(args, { timeoutMs });
  if (r.code !== 0) throw new DockerError(`docker ${args.join(' ')} failed: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout.trim();
}

/**
 * Builds the managed plugin from this install and has dockerd create and enable it: the rootfs
 * (lib/plugin/rootfs.ts) and config.json (lib/plugin/config.ts) in a temporary directory, then
 * `docker plugin create NAME DIR` and `docker plugin enable NAME`. Needs the driver's credential
 * (init writes it). Refused when a host driver answers on this install's socket (both would use
 * the one state file) or when the engine already has a plugin of that name; nothing is changed then.
 */
export async function createManagedPlugin(deps: PluginDeps, requested: string = DEFAULT_PLUGIN_NAME): Promise<CreatedPlugin> {
  const { paths } = deps;
  const name = normalizePluginName(requested);
  const credential = await readDriverCredential(paths);
  if (!credential) throw new ConfigError(`the driver has no credential yet (${paths.driverCredentialFile})`, { missing: true, hint: 'run `docker secretfs init --managed` (or `init`) first' });
  if (await socketAnswers(paths.driverSocket)) {
    throw new ConfigError(`a host volume driver answers on ${paths.driverSocket}; the plugin would share its state file`, { hint: 'stop it first: `docker secretfs driver stop`' });
  }
  const existing = await inspectPlugin(deps, name);
  if (existing) throw new ConfigError(`the engine already has a plugin ${name} (${existing.enabled ? 'enabled' : 'disabled'})`, { hint: `remove it first: \`docker plugin disable ${name} && docker plugin rm ${name}\`` });
  const config = await pluginConfig(await readPluginTemplate(deps.packageRoot), paths, credential, { dockerSocket: deps.dockerSocket });
  await ensurePrivateDir(paths.logDir);

  const context = await mkdtemp(join(tmpdir(), 'secretfs-plugin-'));
  try {
    let t = Date.now();
    const rootfs = await deps.step('building the plugin rootfs (node, libraries, dist, production node_modules)', async () => {
      const summary = await buildRootfs(join(context, 'rootfs'), { packageRoot: deps.packageRoot });
      await writeFile(join(context, 'config.json'), JSON.stringify(config, null, 2) + '\n', { mode: 0o644 });
      return summary;
    }, (s) => `rootfs built: ${(s.bytes / 1e6).toFixed(0)} MB in ${s.files} files (${s.packages} packages, ${s.libraries.length} shared libraries)`);
    const buildMs = Date.now() - t;
    t = Date.now();
    await deps.step(`creating the plugin ${name} (docker plugin create)`, () => dockerStep(deps, ['plugin', 'create', name, context], CREATE_TIMEOUT_MS), () => `created ${name}`);
    const createMs = Date.now() - t;
    t = Date.now();
    await deps.step(`enabling ${name} (dockerd starts the driver)`, () => dockerStep(deps, ['plugin', 'enable', '--timeout', '60', name], ENABLE_TIMEOUT_MS), () => `enabled ${name}`);
    const enableMs = Date.now() - t;
    const state = await inspectPlugin(deps, name);
    if (!state) throw new DockerError(`the plugin ${name} is gone right after its creation`);
    return { ...state, rootfs, timings: { buildMs, createMs, enableMs } };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/**
 * Makes sure the plugin exists and runs (what `init --managed` needs): created when missing,
 * enabled when disabled, and restarted (disable, enable) when the credential changed, since the
 * driver reads it at start (as `init --force` restarts a host driver: mounts in use end, and volumes
 * mount again at their next use). Says whether it changed anything.
 */
export async function ensureManagedPlugin(deps: PluginDeps, requested: string, credentialChanged: boolean): Promise<{ plugin: PluginState; changed: boolean; created?: CreatedPlugin }> {
  const name = normalizePluginName(requested);
  const existing = await inspectPlugin(deps, name);
  if (!existing) {
    const created = await createManagedPlugin(deps, name);
    return { plugin: created, changed: true, created };
  }
  if (existing.enabled && !credentialChanged) return { plugin: existing, changed: false };
  // -f: dockerd refuses to disable a plugin that has volumes; a host driver is restarted the same way (its mounts end).
  if (existing.enabled) await dockerStep(deps, ['plugin', 'disable', '-f', name], ENABLE_TIMEOUT_MS);
  await dockerStep(deps, ['plugin', 'enable', '--timeout', '60', name], ENABLE_TIMEOUT_MS);
  return { plugin: { ...existing, enabled: true }, changed: true };
}
