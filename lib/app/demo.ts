import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { DockerClient } from '../docker/client.js';
import { ensureBusyboxImage, hasImage, tryPull } from '../docker/local-image.js';
import { runWithSecrets, type RunContext } from './run-container.js';
import { vaultClientFromConfig } from '../vault/client.js';
import { resolveKvMount, writeSecret } from '../vault/kv.js';
import { DEMO_KEY, DEMO_PATH } from './demo-constants.js';
import { parseVolumeOpts } from './secret-volume.js';

/** Built from busybox-static when there is no alpine and no registry. */
export const DEMO_LOCAL_IMAGE = 'secretfs/demo-busybox:latest';

/** alpine when the engine has it or can pull it quickly; otherwise a local busybox image. */
export async function pickDemoImage(dockerCli: string): Promise<string> {
  if (await hasImage('alpine:latest', dockerCli)) return 'alpine:latest';
  if (await tryPull('alpine:latest', 30_000, dockerCli)) return 'alpine:latest';
  return ensureBusyboxImage(DEMO_LOCAL_IMAGE, dockerCli);
}

export interface DemoDeps extends Omit<RunContext, 'vault'> {
  config: Config;
  docker: DockerClient;
}

/**
 * The main job once: stores a fresh random demo value at DEMO_PATH and runs a container, through
 * the same code as `docker secretfs run`, that prints what it reads from /run/secrets.
 * Resolves to the value stored and the container's exit status.
 */
export async function runDemo(deps: DemoDeps, image: string): Promise<{ value: string; status: number }> {
  const vault = vaultClientFromConfig(deps.config);
  const value = `demo-${randomBytes(6).toString('hex')}`;
  await deps.step(`storing a demo secret at ${DEMO_PATH} (key ${DEMO_KEY})`, async () => {
    const mount = await resolveKvMount(vault, DEMO_PATH);
    await writeSecret(vault, mount, DEMO_PATH, { [DEMO_KEY]: value });
  });
  const result = await runWithSecrets(
    { ...deps, vault },
    { paths: [DEMO_PATH], target: '/run/secrets', fsOptions: parseVolumeOpts([]), dockerArgs: ['--network', 'none', image, 'cat', `/run/secrets/${DEMO_KEY}`] },
  );
  return { value, status: result.status };
}
