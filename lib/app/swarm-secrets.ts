import { NotFoundError, UsageError, isVaultFailure } from '../errors.js';
import type { SwarmClient, SwarmSecret, SwarmService } from '../docker/swarm.js';
import { allowSwarmPath, swarmPolicyName } from '../swarm/access.js';
import { readPolicy } from '../vault/policy.js';
import { parseSecretLabels, renderSwarmSecret, secretLabels, SecretLabelError, type SwarmSecretSpec } from '../swarm/secret-spec.js';
import type { VaultClient } from '../vault/client.js';
import { listVersions, readSecret, resolveKvMount } from '../vault/kv.js';

/**
 * The friendly side of Swarm secrets backed by secretfs: `secret create`, `allow`, `ls` and
 * `rotate`. The engine does the Swarm part (it stores the secret's labels, never a value); Vault
 * (the administrator's client here) holds the value and the policy that allows Swarm to read it.
 */

/** Refuses, with the way out, unless the engine is a swarm manager (only managers hold secrets). */
export async function requireSwarmManager(swarm: SwarmClient): Promise<void> {
  const role = await swarm.role();
  if (role.manager) return;
  const why = role.state === 'active' ? 'this node is a swarm worker' : `Swarm is ${role.state} on this engine`;
  throw new UsageError(`this Docker engine is not a swarm manager (${why}): Swarm secrets live on managers`, {
    hint: role.state === 'active' ? 'run the command against a manager (docker -H or --context)' : 'run `docker swarm init`, or point at a manager with docker -H or --context',
  });
}

/** A secretfs Swarm secret as `secret ls` shows it. */
export interface SwarmSecretRow {
  name: string;
  id: string;
  path?: string;
  key?: string;
  format?: string;
  /** The KV version a new task would get (the pinned one, else the current one); null for KV v1 or unknown. */
  vaultVersion: number | null;
  pinned: boolean;
  services: string[];
  createdAt?: string;
  /** Why a task could not get it (a label or Vault problem), without any value. */
  problem?: string;
}

/** Checks what the secret would serve now (path, key, version, size), allows its path for Swarm, then creates the Swarm secret. */
export async function createSwarmSecret(options: {
  vault: VaultClient;
  swarm: SwarmClient;
  driverName: string;
  name: string;
  spec: SwarmSecretSpec;
  labels?: Record<string, string>;
}): Promise<{ id: string; name: string; labels: Record<string, string>; policy: string; vaultVersion: number | null }> {
  const { vault, swarm, driverName, name, spec } = options;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new UsageError(`invalid secret name ${JSON.stringify(name)}: up to 64 letters, digits, "_", "." and "-", starting with a letter or digit`);
  }
  await requireSwarmManager(swarm);
  if ((await swarm.listSecrets()).some((s) => s.name === name)) {
    throw new UsageError(`a Swarm secret named ${name} already exists`, { hint: 'Swarm secrets are immutable: pick another name, or `docker secret rm` it first' });
  }
  const mount = await resolveKvMount(vault, spec.path);
  if (spec.version !== undefined && mount.version !== 2) throw new UsageError(`--version needs KV v2; ${mount.mount} is KV v1`);
  const secret = await readSecret(vault, mount, spec.path, spec.version);
  try {
    renderSwarmSecret(secret.data, spec);
  } catch (err) {
    if (err instanceof SecretLabelError) throw new UsageError(err.message.replace(/^label secretfs\.\w+: /, ''));
    throw err;
  }
  const policy = await allowSwarmPath(vault, spec.path);
  const labels = { ...(options.labels ?? {}), ...secretLabels(spec) };
  const id = await swarm.createSecret({ name, driver: driverName, labels });
  return { id, name, labels, policy, vaultVersion: spec.version ?? secret.version ?? null };
}

function usersOf(secret: SwarmSecret, services: SwarmService[]): string[] {
  return services.filter((svc) => svc.secrets.some((r) => r.secretId === secret.id)).map((svc) => svc.name).sort();
}

/** The Swarm secrets of our driver, with what a new task would read. */
export async function listSwarmSecrets(options: { vault: VaultClient; swarm: SwarmClient; driverName: string }): Promise<SwarmSecretRow[]> {
  const { vault, swarm, driverName } = options;
  await requireSwarmManager(swarm);
  const [secrets, services] = await Promise.all([swarm.listSecrets(), swarm.listServices()]);
  const rows: SwarmSecretRow[] = [];
  for (const secret of secrets.filter((s) => s.driver === driverName).sort((a, b) => a.name.localeCompare(b.name))) {
    const row: SwarmSecretRow = { name: secret.name, id: secret.id, vaultVersion: null, pinned: false, services: usersOf(secret, services), createdAt: secret.createdAt };
    rows.push(row);
    let spec: SwarmSecretSpec;
    try {
      spec = parseSecretLabels(secret.labels);
    } catch (err) {
      row.problem = (err as Error).message;
      continue;
    }
    Object.assign(row, { path: spec.path, key: spec.key, format: spec.key === undefined ? spec.format : undefined, pinned: spec.version !== undefined });
    try {
      const mount = await resolveKvMount(vault, spec.path);
      if (spec.version !== undefined) row.vaultVersion = spec.version;
      else if (mount.version === 2) {
        const current = await listVersions(vault, mount, spec.path).then(
          (v) => v.current,
          (err) => {
            if (isVaultFailure(err, 'not_found')) return 0;
            throw err;
          },
        );
        row.vaultVersion = current || null;
      }
      if (row.vaultVersion === null && mount.version === 2) row.problem = `no secret at ${spec.path}`;
      else {
        // What a new task would get: the same checks as the provider (key, size), never shown.
        try {
          renderSwarmSecret((await readSecret(vault, mount, spec.path, spec.version)).data, spec);
        } catch (err) {
          if (!(err instanceof SecretLabelError) && !isVaultFailure(err)) throw err;
          row.problem = err.message;
        }
      }
      const allowed = await readPolicy(vault, swarmPolicyName(spec.path)).then(
        () => true,
        (err) => {
          if (isVaultFailure(err, 'not_found')) return false;
          throw err;
        },
      );
      if (!allowed) row.problem = `${spec.path} is not allowed for Swarm secrets: tasks fail (docker secretfs secret allow ${spec.path})`;
    } catch (err) {
      if (!isVaultFailure(err)) throw err;
      row.problem = err.message;
    }
  }
  return rows;
}

/** What `secret rotate` does (or would do, with dryRun): force-update each service that uses the secrets. */
export interface RotationPlan {
  secrets: string[];
  services: string[];
}

/**
 * Works out which services use the named secretfs secrets (optionally only `onlyServices`), so
 * that `docker service update --force` gives each a new task that reads the current value.
 */
export async function planRotation(options: { swarm: SwarmClient; driverName: string; names: string[]; onlyServices?: string[] }): Promise<RotationPlan> {
  const { swarm, driverName, names } = options;
  if (names.length === 0) throw new UsageError('name at least one secret to rotate');
  await requireSwarmManager(swarm);
  const [secrets, services] = await Promise.all([swarm.listSecrets(), swarm.listServices()]);
  const chosen: SwarmSecret[] = [];
  for (const name of names) {
    const secret = secrets.find((s) => s.name === name || s.id === name);
    if (!secret) throw new NotFoundError(`no Swarm secret named ${name}`, { hint: 'see `docker secretfs secret ls`' });
    if (secret.driver !== driverName) {
      throw new UsageError(`${name} is not a secretfs secret (${secret.driver ? `driver ${secret.driver}` : 'a plain Swarm secret'}): its value cannot change`, {
        hint: 'plain Swarm secrets are immutable; rotate them with a new name and `docker service update --secret-rm/--secret-add`',
      });
    }
    chosen.push(secret);
  }
  let users = [...new Set(chosen.flatMap((s) => usersOf(s, services)))].sort();
  if (options.onlyServices?.length) {
    for (const svc of options.onlyServices) {
      if (!services.some((s) => s.name === svc || s.id === svc)) throw new NotFoundError(`no service named ${svc}`);
      const name = services.find((s) => s.name === svc || s.id === svc)!.name;
      if (!users.includes(name)) throw new UsageError(`service ${name} does not use ${names.join(', ')}`);
    }
    const wanted = new Set(options.onlyServices.map((svc) => services.find((s) => s.name === svc || s.id === svc)!.name));
    users = users.filter((u) => wanted.has(u));
  }
  return { secrets: chosen.map((s) => s.name), services: users };
}
