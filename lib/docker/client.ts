import { createRequire } from 'node:module';
import type Dockerode from 'dockerode';
import { DockerError } from '../errors.js';

const require = createRequire(import.meta.url);

/** A Docker volume as we see it. */
export interface VolumeInfo {
  name: string;
  driver: string;
  mountpoint: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  createdAt?: string;
}

/** The narrow part of the Docker engine API that secretfs uses. The only importer of dockerode. */
export interface DockerClient {
  serverVersion(): Promise<string>;
  createVolume(spec: { name: string; driver: string; options: Record<string, string>; labels?: Record<string, string> }): Promise<VolumeInfo>;
  inspectVolume(name: string): Promise<VolumeInfo | undefined>;
  removeVolume(name: string, force?: boolean): Promise<void>;
  listVolumes(filter?: { driver?: string; label?: string }): Promise<VolumeInfo[]>;
}

/** Where the engine is: `-H/--host` from docker's global flags, else DOCKER_HOST, else the default socket. */
export function dockerHostFrom(globalFlags: string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < globalFlags.length; i++) {
    const [flag, inline] = globalFlags[i].split('=', 2);
    if (flag === '-H' || flag === '--host') return inline ?? globalFlags[i + 1];
  }
  return env.DOCKER_HOST || undefined;
}

function dockerodeOptions(host: string | undefined): Dockerode.DockerOptions {
  if (!host) return { socketPath: '/var/run/docker.sock' };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
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

/** Turns dockerode's errors into a DockerError with the engine's own message. */
function wrap(err: unknown, what: string): DockerError {
  const e = err as { statusCode?: number; json?: { message?: string }; message?: string; code?: string };
  if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED' || e?.code === 'EACCES') {
    return new DockerError(`cannot reach the Docker engine (${e.code})`, { cause: err, hint: 'is dockerd running? `docker info` should answer' });
  }
  const message = e?.json?.message ?? e?.message ?? String(err);
  return new DockerError(`${what}: ${message.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '')}`, { cause: err });
}

/** Creates a client for the engine at `host` (see dockerHostFrom). */
export function createDockerClient(host?: string): DockerClient {
  const DockerodeClass = require('dockerode') as typeof Dockerode;
  const docker = new DockerodeClass(dockerodeOptions(host));
  return {
    async serverVersion() {
      const v = await docker.version().catch((err) => { throw wrap(err, 'version'); });
      return v.Version;
    },
    async createVolume({ name, driver, options, labels }) {
      try {
        await docker.createVolume({ Name: name, Driver: driver, DriverOpts: options, Labels: labels ?? {} });
        const info = await docker.getVolume(name).inspect();
        return toVolumeInfo(info);
      } catch (err) {
        throw wrap(err, `creating volume ${name}`);
      }
    },
    async inspectVolume(name) {
      try {
        return toVolumeInfo(await docker.getVolume(name).inspect());
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw wrap(err, `inspecting volume ${name}`);
      }
    },
    async removeVolume(name, force = false) {
      try {
        await docker.getVolume(name).remove({ force });
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return;
        throw wrap(err, `removing volume ${name}`);
      }
    },
    async listVolumes(filter = {}) {
      const filters: Record<string, string[]> = {};
      if (filter.driver) filters.driver = [filter.driver];
      if (filter.label) filters.label = [filter.label];
      try {
        const res = (await docker.listVolumes({ filters: JSON.stringify(filters) } as Dockerode.VolumeListOptions)) as { Volumes?: unknown[] };
        return (res.Volumes ?? []).map(toVolumeInfo);
      } catch (err) {
        throw wrap(err, 'listing volumes');
      }
    },
  };
}
