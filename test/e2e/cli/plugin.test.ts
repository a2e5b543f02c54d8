import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedTestDockerd, type TestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { runCli, runCommand } from '../../../harness/run-cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const test = suite('e2e/cli-plugin');
let dockerConfig = '';
let skip: string | undefined;
let dockerd: TestDockerd | undefined;

test.before(async () => {
  skip = await missingRequirement({ docker: true });
  if (!skip) dockerd = await sharedTestDockerd();
  dockerConfig = await mkdtemp(join(tmpdir(), 'secretfs-dockercfg-'));
  const res = await runCommand(join(ROOT, 'install.sh'), ['--no-system', '--no-build'], { env: { DOCKER_CONFIG: dockerConfig } });
  assert.is(res.code, 0, res.stderr);
});

test.after(async () => {
  await rm(dockerConfig, { recursive: true, force: true });
});

const docker = (args: string[]) => runCommand('docker', args, { env: { DOCKER_CONFIG: dockerConfig, ...dockerd?.env } });

test('the metadata subcommand prints valid metadata on stdout only and exits 0', async () => {
  const res = await runCli(['docker-cli-plugin-metadata']);
  assert.is(res.code, 0);
  assert.is(res.stderr, '');
  const meta = JSON.parse(res.stdout);
  assert.is(meta.SchemaVersion, '0.1.0');
  assert.ok(typeof meta.Vendor === 'string' && meta.Vendor.length > 0);
  const pkg = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(ROOT, 'package.json'), 'utf8')));
  assert.is(meta.Version, pkg.version);
  assert.ok(meta.ShortDescription && meta.URL);
});

test('install.sh installs an executable plugin whose name Docker accepts', async () => {
  const plugin = join(dockerConfig, 'cli-plugins', 'docker-secretfs');
  assert.ok(((await stat(plugin)).mode & 0o111) !== 0);
  assert.match('secretfs', /^[a-z][a-z0-9]*$/);
});

test('docker secretfs --help exits 0 and lists the commands', async () => {
  if (skip) return skipped(skip);
  const res = await docker(['secretfs', '--help']);
  assert.is(res.code, 0, res.stderr);
  assert.match(res.stdout, /Usage: docker secretfs/);
  assert.match(res.stdout, /version/);
});

test('docker --help lists secretfs among the management commands', async () => {
  if (skip) return skipped(skip);
  const res = await docker(['--help']);
  assert.is(res.code, 0);
  assert.match(res.stdout, /secretfs\*\s+Vault secrets/);
  assert.not.match(res.stdout + res.stderr, /Invalid Plugins/);
});

test('docker info shows the plugin without an error', async () => {
  if (skip) return skipped(skip);
  const res = await docker(['info', '--format', '{{json .ClientInfo.Plugins}}']);
  assert.is(res.code, 0, res.stderr);
  const ours = (JSON.parse(res.stdout) as { Name: string; Err?: string; Vendor?: string }[]).find((p) => p.Name === 'secretfs');
  assert.ok(ours, res.stdout);
  assert.is(ours!.Err, undefined);
  assert.is(ours!.Vendor, 'docker-secretfs');
});

test('global docker flags before secretfs and `docker help secretfs` work', async () => {
  if (skip) return skipped(skip);
  const withHost = await docker(['-H', dockerd!.host, 'secretfs', 'version', '--format', 'json']);
  assert.is(withHost.code, 0, withHost.stderr);
  assert.ok(JSON.parse(withHost.stdout).version);
  const help = await docker(['help', 'secretfs']);
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage: docker secretfs/);
});

test('an unknown command through docker: one line on stderr, nothing on stdout, exit 1', async () => {
  if (skip) return skipped(skip);
  const res = await docker(['secretfs', 'no-such-command']);
  assert.is(res.code, 1);
  assert.is(res.stdout, '');
  assert.is(res.stderr.trim().split('\n').length, 1, res.stderr);
});

test('install.sh is idempotent and --uninstall removes what it installed', async () => {
  // A copy of the script in a scratch checkout, so uninstalling does not remove this tree's build.
  const { copyFile, mkdir, writeFile } = await import('node:fs/promises');
  const scratch = await mkdtemp(join(tmpdir(), 'secretfs-checkout-'));
  const config = join(scratch, 'docker-config');
  try {
    await copyFile(join(ROOT, 'install.sh'), join(scratch, 'install.sh'));
    // What the shim writer needs of a checkout: itself, the package, the metadata and their build.
    for (const file of ['scripts/plugin-shim.mjs', 'scripts/plugin-shim.sh', 'package.json', 'plugin-metadata/cli-plugin.json', 'dist/cli/metadata.js', 'dist/lib/version.js']) {
      await mkdir(dirname(join(scratch, file)), { recursive: true });
      await copyFile(join(ROOT, file), join(scratch, file));
    }
    await writeFile(join(scratch, 'dist', 'cli', 'main.js'), '');
    const env = { DOCKER_CONFIG: config };
    for (let i = 0; i < 2; i++) {
      const res = await runCommand('bash', [join(scratch, 'install.sh'), '--no-system', '--no-build'], { env });
      assert.is(res.code, 0, res.stderr);
    }
    const plugin = join(config, 'cli-plugins', 'docker-secretfs');
    assert.ok((await stat(plugin)).isFile());
    // Docker's metadata call is answered by the shim itself: no Node on PATH, the package's version.
    const meta = await runCommand('/bin/sh', [plugin, 'docker-cli-plugin-metadata'], { env: { PATH: '/nonexistent' } });
    assert.is(meta.code, 0, meta.stderr);
    assert.is(JSON.parse(meta.stdout).Version, JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version);
    const removed = await runCommand('bash', [join(scratch, 'install.sh'), '--uninstall'], { env });
    assert.is(removed.code, 0, removed.stderr);
    await stat(plugin).then(() => assert.unreachable('plugin still there'), () => undefined);
    await stat(join(scratch, 'dist')).then(() => assert.unreachable('dist still there'), () => undefined);
    const bad = await runCommand('bash', [join(scratch, 'install.sh'), '--bogus'], { env });
    assert.is(bad.code, 1);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});

test.run();
