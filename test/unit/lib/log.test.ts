import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../lib/log.js';

const test = suite('lib/log: the file logger');

test('appends JSON lines to its file, and a file that is gone (its directory removed) loses lines without throwing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secretfs-log-'));
  const file = join(dir, 'log', 'driver.log');
  const log = createLogger({ file, component: 'driver' });
  log.info('started', { pid: 1 });
  const [line] = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal([line.level, line.component, line.msg, line.pid], ['info', 'driver', 'started', 1]);
  await rm(dir, { recursive: true, force: true });
  // What a daemon's SIGTERM handler does first: before, this threw ENOENT and the daemon kept running.
  assert.not.throws(() => log.info('stopping'));
  assert.not.throws(() => log.error('stopped'));
});

test.run();
