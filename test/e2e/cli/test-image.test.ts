import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd, type TestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';

const test = suite('e2e/test-image');
let dockerd: TestDockerd;
let skip: string | undefined;

test.before(async () => {
  skip = await missingRequirement({ docker: true });
  if (skip) return;
  dockerd = await sharedTestDockerd();
});

test('a busybox image built with docker import runs a container without any registry', async () => {
  if (skip) return skipped(skip);
  const res = await dockerd.docker(['run', '--rm', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo hello-from-$(id -u)']);
  assert.is(res.code, 0, res.stderr);
  assert.is(res.stdout.trim(), 'hello-from-0');
});

test('the private dockerd has the same image as `alpine` (the tutorials name it so) and only loopback', async () => {
  if (skip) return skipped(skip);
  const ids = await dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE, 'alpine']);
  assert.is(ids.code, 0, ids.stderr);
  const [a, b] = ids.stdout.trim().split('\n');
  assert.is(a, b);
  const net = await dockerd.docker(['run', '--rm', 'alpine', 'ls', '/sys/class/net']);
  assert.is(net.code, 0, net.stderr);
  assert.is(net.stdout.trim(), 'lo', 'no bridge: containers get loopback only');
});

test.run();
