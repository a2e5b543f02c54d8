import type { DockerClient } from '../docker/client.js';
import { formatOnChange, parseChangeOptions } from '../driver/change-options.js';
import { looksLikeVaultPath } from '../driver/volume-name.js';
import { normalizeSecretPath } from '../vault/kv-path.js';

/** A watched volume of a path and the running containers its driver will act on after a write. */
export interface ChangeNotice {
  volume: string;
  /** `signal:HUP` or `restart`. */
  action: string;
  watchMs: number;
  debounceMs: number;
  /** Running containers that mount the volume, by name. */
  containers: string[];
}

/** The Vault path a volume of our driver serves: its `path` option, or its name in the short form. */
function volumePath(name: string, options: Record<string, string>): string | undefined {
  try {
    if (options.path) return normalizeSecretPath(options.path);
    return looksLikeVaultPath(name) ? normalizeSecretPath(name) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the driver will do after a write to `path` (for `put`): the watched volumes of our driver
 * on that path with an on_change action, and the running containers that mount each. Read from
 * Docker's volume options, as the driver was given them at Create.
 */
export async function changeNotices(docker: Pick<DockerClient, 'listVolumes' | 'runningContainersWithVolume'>, driverName: string, path: string): Promise<ChangeNotice[]> {
  const target = normalizeSecretPath(path);
  const notices: ChangeNotice[] = [];
  for (const v of await docker.listVolumes({ driver: driverName })) {
    if (volumePath(v.name, v.options) !== target) continue;
    let change;
    try {
      change = parseChangeOptions(v.options);
    } catch {
      continue;
    }
    if (change.watchMs === undefined || change.onChange.kind === 'none') continue;
    const containers = (await docker.runningContainersWithVolume(v.name)).map((c) => c.name);
    notices.push({ volume: v.name, action: formatOnChange(change.onChange), watchMs: change.watchMs, debounceMs: change.debounceMs, containers });
  }
  return notices;
}

/** changeNotices within timeoutMs; a Docker that is missing or slow is an `error`, never a failure of the caller. */
export async function previewChange(
  docker: Pick<DockerClient, 'listVolumes' | 'runningContainersWithVolume'>,
  driverName: string,
  path: string,
  timeoutMs = 5000,
): Promise<{ notices: ChangeNotice[]; error?: undefined } | { notices?: undefined; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const notices = await Promise.race([
      changeNotices(docker, driverName, path),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Docker did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { notices };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
