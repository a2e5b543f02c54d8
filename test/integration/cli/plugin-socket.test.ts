import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { watchPluginSocket } from '../../../cli/plugin-socket.js';
import { startFakePluginParent, type FakePluginParent } from '../../helpers/plugin-socket-parent.js';

const test = suite('integration/cli plugin socket (a fake docker CLI parent on an exact-length abstract socket)');
let parent: FakePluginParent | undefined;
// The watch never holds the process open (a CLI command does); here a timer does.
let keepAlive: NodeJS.Timeout;
test.before(() => {
  keepAlive = setInterval(() => {}, 1000);
});
test.after(() => clearInterval(keepAlive));

test.after.each(() => {
  parent?.dispose();
  parent = undefined;
});

function closedWithin(ms: number, calls: { n: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (calls.n > 0 || Date.now() - started > ms) {
        clearInterval(poll);
        resolve(calls.n > 0);
      }
    }, 20);
  });
}

test('connects to the parent, and its closing is reported once', async () => {
  parent = await startFakePluginParent();
  const calls = { n: 0 };
  const watch = watchPluginSocket(parent.address, () => calls.n++);
  assert.is(await watch.connected, true);
  await parent.accepted(1);
  assert.is(calls.n, 0, 'nothing is reported while the parent keeps the socket open');
  await parent.close();
  assert.ok(await closedWithin(5000, calls), 'the close was not reported');
  await new Promise((r) => setTimeout(r, 200));
  assert.is(calls.n, 1);
  watch.dispose();
});

test('dispose() stops watching without reporting a close', async () => {
  parent = await startFakePluginParent();
  const calls = { n: 0 };
  const watch = watchPluginSocket(parent.address, () => calls.n++);
  assert.is(await watch.connected, true);
  await parent.accepted(1);
  watch.dispose();
  await parent.close();
  assert.is(await closedWithin(500, calls), false);
});

test('no listener at the address (the CLI closed it before we connected): reported as a close, once', async () => {
  const calls = { n: 0 };
  const watch = watchPluginSocket(`@docker_cli_${randomBytes(16).toString('hex')}`, () => calls.n++);
  assert.is(await watch.connected, false);
  assert.ok(await closedWithin(5000, calls));
  await new Promise((r) => setTimeout(r, 200));
  assert.is(calls.n, 1);
  watch.dispose();
});

test.run();
