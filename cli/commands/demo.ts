import { Command } from 'commander';
import { loadConfig } from '../../lib/config.js';
import { DEMO_KEY, DEMO_PATH } from '../../lib/app/demo-constants.js';
import type { CliContext } from '../context.js';
import { readPolicyScope } from '../../lib/access/policy-scope.js';

/** `demo`: set up with defaults (like `init --yes`), store a demo secret and show a container reading it. */
export function demoCommand(ctx: CliContext): Command {
  return new Command('demo')
    .description(`set up with defaults (init --yes), store a random value at ${DEMO_PATH} and run a container that prints it from /run/secrets`)
    .action(async () => {
      const [{ defaultInitChoices, initialize }, { pickDemoImage, runDemo }] = await Promise.all([import('../../lib/app/init.js'), import('../../lib/app/demo.js')]);
      const docker = ctx.docker();
      const step = <T>(title: string, work: () => Promise<T>, done?: (r: T) => string) => ctx.out.step(title, work, done);
      await initialize({ paths: ctx.paths, env: ctx.env, docker, step }, await defaultInitChoices(ctx.paths, ctx.env, {}));
      const config = await loadConfig(ctx.paths, ctx.env);
      const image = await step('choosing an image (alpine if available, else a local busybox)', () => pickDemoImage(ctx.dockerCli), (i) => `image ${i}`);
      ctx.out.info(`$ docker secretfs run --path ${DEMO_PATH} -- ${image} cat /run/secrets/${DEMO_KEY}`);
      ctx.exitCode = 125;
      const { value, status } = await runDemo(
        { config, docker, driverName: config.volumeDriver, policyScope: await readPolicyScope(ctx.paths), dockerCli: ctx.dockerCli, dockerGlobalFlags: ctx.dockerGlobalFlags, env: ctx.env, step, warn: (m) => ctx.out.warn(m) },
        image,
      );
      ctx.out.data('\n');
      ctx.exitCode = status;
      if (status === 0) ctx.out.success(`the container printed the value stored at ${DEMO_PATH} (${value.length} bytes), read from a FUSE volume with its own token; nothing was written to disk and no token entered the container`);
    });
}
