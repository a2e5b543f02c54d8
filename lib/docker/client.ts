import { connectEngine } from './engine.js';

/** A Docker volume as we see it. */
export interface VolumeInfo {
  name: string;
  driver: string;
  mountpoint: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  createdAt?: string;
}

/** The narrow part of the Docker engine API that secretfs uses (over lib/docker/engine.ts). */
export interface DockerClient {
  /** Answers when the engine does (the driver checks its access at Create when on_change is set). */
  ping(): Promise<void>;
  serverVersion(): Promise<string>;
  createVolume(spec: { name: string; driver: string; options: Record<string, string>; labels?: Record<string, string> }): Promise<VolumeInfo>;
  /** The volume, or undefined when the engine has none of that name; `timeoutMs` bounds the wait. */
  inspectVolume(name: string, options?: { timeoutMs?: number }): Promise<VolumeInfo | undefined>;
  removeVolume(name: string, force?: boolean): Promise<void>;
  /** Whether the managed plugin of that name is enabled; undefined when the engine has no such plugin. */
  pluginEnabled(name: string): Promise<boolean | undefined>;
  /** Removes a volume unless a container (in any state) refers to it: 'in use', or 'unknown' when the engine has none of that name. */
  removeUnusedVolume(name: string): Promise<'removed' | 'in use' | 'unknown'>;
  /** IDs of the containers, not yet stopped, that carry this label (`key=value`). */
  containersLabelled(label: string): Promise<string[]>;
  listVolumes(filter?: { driver?: string; label?: string }): Promise<VolumeInfo[]>;
  /** IDs of the running containers that mount this volume. */
  containersUsingVolume(name: string): Promise<string[]>;
  /** `docker stop`: the container's stop signal, then SIGKILL after its stop timeout. Gone or stopped already is fine. */
  stopContainer(id: string): Promise<void>;
  /** Answers when the engine does (the driver checks its access at Create when on_change is set). */
  ping(): Promise<void>;
  /** The running containers that mount the named volume (matched by volume name, not by mount destination). */
  runningContainersWithVolume(volume: string): Promise<ContainerRef[]>;
  /** Sends a signal (a name such as SIGHUP) to a running container's main process. */
  signalContainer(id: string, signal: string): Promise<void>;
  /** Restarts a container (stop with its stop timeout, then start). */
  restartContainer(id: string): Promise<void>;
}

/** A container as the change watcher names it. */
export interface ContainerRef {
  id: string;
  /** Without the leading `/`. */
  name: string;
}

/** Where the engine is: `-H/--host` from docker's global flags, else DOCKER_HOST, else the default socket. */
export function dockerHostFrom(globalFlags: string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < globalFlags.length; i++) {
    const [flag, inline] = globalFlags[i].split('=', 2);
    if (flag === '-H' || flag === '--host') return inline ?? globalFlags[i + 1];
  }
  return env.DOCKER_HOST || undefined;
}

function toVolumeInfo(v: any): VolumeInfo {
  return {
    name: v.Name,
    driver: v.Driver,
    mountpoint: v.Mountpoint ?? '',
    labels: v.Labels ?? {},
    options: v.Options ?? {},
    createdAt: v.CreatedAt,
  };
}

/** Creates a client for the engine at `host` (see dockerHostFrom). */
export function createDockerClient(host?: string): DockerClient {
  const engine = connectEngine(host);
  const volumePath = (name: string) => `/volumes/${encodeURIComponent(name)}`;
  return {
    async serverVersion() {
      return (await engine.request('GET', '/version', { what: 'version' })).body.Version;
    },
    async createVolume({ name, driver, options, labels }) {
      // The engine answers with the volume (an existing one of that name too): no second inspect.
      const res = await engine.request('POST', '/volumes/create', { body: { Name: name, Driver: driver, DriverOpts: options, Labels: labels ?? {} }, what: `creating volume ${name}` });
      return toVolumeInfo(res.body);
    },
    async inspectVolume(name, options = {}) {
      const res = await engine.request('GET', volumePath(name), { what: `inspecting volume ${name}`, accept: [404], timeoutMs: options.timeoutMs });
      return res.status === 404 ? undefined : toVolumeInfo(res.body);
    },
    async pluginEnabled(name) {
      const res = await engine.request('GET', `/plugins/${encodeURIComponent(name)}/json`, { what: `inspecting plugin ${name}`, accept: [404] });
      return res.status === 404 ? undefined : Boolean(res.body?.Enabled);
    },
    async removeVolume(name, force = false) {
      await engine.request('DELETE', volumePath(name), { query: { force }, what: `removing volume ${name}`, accept: [404] });
    },
    async removeUnusedVolume(name) {
      // 409: a container refers to it (the engine's "volume is in use").
      const res = await engine.request('DELETE', volumePath(name), { what: `removing volume ${name}`, accept: [404, 409] });
      return res.status === 404 ? 'unknown' : res.status === 409 ? 'in use' : 'removed';
    },
    async containersLabelled(label) {
      const filters = { label: [label], status: ['created', 'running', 'restarting'] };
      const res = await engine.request('GET', '/containers/json', { query: { filters }, what: `listing the containers labelled ${label}` });
      return ((res.body ?? []) as { Id: string }[]).map((c) => c.Id);
    },
    async listVolumes(filter = {}) {
      const filters: Record<string, string[]> = {};
      if (filter.driver) filters.driver = [filter.driver];
      if (filter.label) filters.label = [filter.label];
      const res = await engine.request('GET', '/volumes', { query: { filters }, what: 'listing volumes' });
      return ((res.body?.Volumes ?? []) as unknown[]).map(toVolumeInfo);
    },
    async containersUsingVolume(name) {
      const filters = { volume: [name], status: ['created', 'running', 'restarting'] };
      const res = await engine.request('GET', '/containers/json', { query: { filters }, what: `listing the containers of volume ${name}` });
      return ((res.body ?? []) as { Id: string }[]).map((c) => c.Id);
    },
    async stopContainer(id) {
      // 304: stopped already; 404: gone (--rm). The stop waits up to the container's stop timeout.
      await engine.request('POST', `/containers/${encodeURIComponent(id)}/stop`, { what: `stopping container ${id.slice(0, 12)}`, accept: [304, 404], timeoutMs: 120_000 });
    },
    async ping() {
      await engine.request('GET', '/_ping', { what: 'ping', timeoutMs: 5000 });
    },
    async runningContainersWithVolume(volume) {
      // dockerd's volume filter also matches a mount destination; Mounts[].Name keeps only the volume.
      const res = await engine.request('GET', '/containers/json', { query: { filters: { volume: [volume], status: ['running'] } }, what: `listing the containers of volume ${volume}` });
      return ((res.body ?? []) as { Id: string; Names?: string[]; Mounts?: { Type?: string; Name?: string }[] }[])
        .filter((c) => (c.Mounts ?? []).some((m) => m.Type === 'volume' && m.Name === volume))
        .map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? c.Id).replace(/^\//, '') }));
    },
    async signalContainer(id, signal) {
      await engine.request('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal }, what: `signalling container ${id.slice(0, 12)}` });
    },
    async restartContainer(id) {
      await engine.request('POST', `/containers/${encodeURIComponent(id)}/restart`, { what: `restarting container ${id.slice(0, 12)}` });
    },
  };
}
