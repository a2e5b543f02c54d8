import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadRunRecords, removeRunRecord, writeRunRecord } from '../../../lib/app/run-records.js';

const test = suite('app/run records: the policies of runs whose process is gone');
let dir = '';
test.before.each(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'secretfs-runs-')), 'runs');
});
test.after.each(async () => {
  await rm(join(dir, '..'), { recursive: true, force: true });
});

test('a record of a process that is gone is dead; ours and a live one are not; unreadable ones are skipped', async () => {
  const gone = spawnSync('true').pid!;
  await writeRunRecord(dir, 'aaaaaaaaaaaa', { pid: gone, policies: ['secretfs-volume-x-1'] });
  await writeRunRecord(dir, 'bbbbbbbbbbbb', { pid: process.pid, policies: ['secretfs-volume-y-2'] });
  await writeRunRecord(dir, 'cccccccccccc', { pid: 1, policies: ['secretfs-volume-z-3'] });
  await writeFile(join(dir, 'dddddddddddd.json'), '{"pid":"no"}');
  assert.is((await stat(join(dir, 'aaaaaaaaaaaa.json'))).mode & 0o777, 0o600);
  assert.equal([...(await deadRunRecords(dir))], [['aaaaaaaaaaaa', { pid: gone, policies: ['secretfs-volume-x-1'] }]]);
  await removeRunRecord(dir, 'aaaaaaaaaaaa');
  await removeRunRecord(dir, 'aaaaaaaaaaaa');
  assert.equal((await readdir(dir)).sort(), ['bbbbbbbbbbbb.json', 'cccccccccccc.json', 'dddddddddddd.json']);
});

test('no directory yet: no records', async () => {
  assert.equal([...(await deadRunRecords(join(dir, 'none')))], []);
});

test.run();
