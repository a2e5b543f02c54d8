import { spawn } from 'node:child_process';
import { DockerError } from '../errors.js';
import { connectEngine } from './engine.js';

/** What the engine says about its part in a swarm. */
export interface SwarmRole {
  /** `inactive`, `pending`, `active`, `error` or `locked` (Swarm.LocalNodeState). */
  state: string;
  /** True on a manager (Swarm.ControlAvailable): only managers hold secrets and services. */
  manager: boolean;
}

/** A Swarm secret as listed (never its value: Swarm never returns one). */
export interface SwarmSecret {
  id: string;
  name: string;
  /** The secret driver's name; undefined for a plain Swarm secret. */
  driver?: string;
  labels: Record<string, string>;
  createdAt?: string;
}

/** A service and the secrets it references. */
export interface SwarmService {
  id: string;
  name: string;
  secrets: { secretId: string; secretName: string; target?: string }[];
}

/** The part of the engine's Swarm API that secretfs uses (over lib/docker/engine.ts). */
export interface SwarmClient {
  role(): Promise<SwarmRole>;
  listSecrets(): Promise<SwarmSecret[]>;
  createSecret(spec: { name: string; driver: string; labels: Record<string, string> }): Promise<string>;
  listServices(): Promise<SwarmService[]>;
}

/** A client for the engine at `host` (see dockerHostFrom). */
export function createSwarmClient(host?: string): SwarmClient {
  const engine = connectEngine(host);
  return {
    async role() {
      const { body: info } = await engine.request<any>('GET', '/info', { what: 'docker info', timeoutMs: 30_000 });
      return { state: String(info?.Swarm?.LocalNodeState ?? 'inactive'), manager: Boolean(info?.Swarm?.ControlAvailable) };
    },
    async listSecrets() {
      const { body } = await engine.request<any[]>('GET', '/secrets', { what: 'listing secrets', timeoutMs: 30_000 });
      return (body ?? []).map((s) => ({
        id: s.ID,
        name: s.Spec?.Name,
        driver: s.Spec?.Driver?.Name || undefined,
        labels: s.Spec?.Labels ?? {},
        createdAt: s.CreatedAt,
      }));
    },
    async createSecret({ name, driver, labels }) {
      const { body } = await engine.request<{ ID?: string }>('POST', '/secrets/create', { what: `creating secret ${name}`, body: { Name: name, Labels: labels, Driver: { Name: driver } } });
      return String(body?.ID ?? '');
    },
    async listServices() {
      const { body } = await engine.request<any[]>('GET', '/services', { what: 'listing services', timeoutMs: 30_000 });
      return (body ?? []).map((s) => ({
        id: s.ID,
        name: s.Spec?.Name,
        secrets: ((s.Spec?.TaskTemplate?.ContainerSpec?.Secrets ?? []) as any[]).map((r) => ({ secretId: r.SecretID, secretName: r.SecretName, target: r.File?.Name })),
      }));
    },
  };
}

/**
 * `docker service update --force SERVICE` through the docker CLI, which waits until the service
 * converges and shows its progress. Its output goes to our stderr (stdout stays for data);
 * resolves once it exits, rejects with its status otherwise.
 */
export function forceUpdateService(dockerCli: string, globalFlags: string[], env: NodeJS.ProcessEnv, service: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The plugin-only variables would make the child think it is a plugin too.
    const { DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: _a, DOCKER_CLI_PLUGIN_SOCKET: _b, ...childEnv } = env;
    const child = spawn(dockerCli, [...globalFlags, 'service', 'update', '--force', '--detach=false', service], { stdio: ['ignore', 2, 2], env: childEnv });
    child.on('error', (err) => reject(new DockerError(`cannot run ${dockerCli}: ${err.message}`, { cause: err })));
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new DockerError(`docker service update --force ${service} failed (${signal ?? `exit ${code}`})`));
    });
  });
}
