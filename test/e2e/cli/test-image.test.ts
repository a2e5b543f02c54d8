import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureTestImage } from '../../helpers/docker-image.js';
import { missingRequirement } from '../../helpers/environment.js';
import { runCommand } from '../../helpers/run-cli.js';

const test = suite('e2e/test-image');

test('a busybox image built with docker import runs a container without any registry', async () => {
  if (await missingRequirement({ docker: true })) return;
  const image = await ensureTestImage();
  const res = await runCommand('docker', ['run', '--rm', '--network', 'none', image, 'sh', '-c', 'echo hello-from-$(id -u)']);
  assert.is(res.code, 0, res.stderr);
  assert.is(res.stdout.trim(), 'hello-from-0');
});

test.run();
