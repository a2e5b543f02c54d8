import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyScopeFile, readPolicyScope } from '../../../lib/access/policy-scope.js';
import { ConfigError } from '../../../lib/errors.js';
import { resolvePaths } from '../../../lib/paths.js';

/** The installation's policy scope: made once (0600), the same for every later and concurrent reader, a damaged one refused. */
const test = suite('access/policy scope');
let home: string;

test.before(async () => {
  home = await mkdtemp(join(tmpdir(), 'secretfs-scope-'));
});
test.after(async () => {
  await rm(home, { recursive: true, force: true });
});

test('made once, 0600, 32 hex digits; ten concurrent first readers all get the same one', async () => {
  const paths = resolvePaths({ SECRETFS_HOME: join(home, 'a') });
  const scopes = await Promise.all(Array.from({ length: 10 }, () => readPolicyScope(paths)));
  assert.match(scopes[0], /^[0-9a-f]{32}$/);
  assert.equal(new Set(scopes).size, 1);
  assert.is((await stat(policyScopeFile(paths))).mode & 0o777, 0o600);
  assert.is(await readPolicyScope(paths), scopes[0]);
  assert.is((await readFile(policyScopeFile(paths), 'utf8')).trim(), scopes[0]);
  const other = resolvePaths({ SECRETFS_HOME: join(home, 'b') });
  assert.is.not(await readPolicyScope(other), scopes[0], 'another installation, another scope');
});

test('a damaged scope file is refused with what to do, not replaced', async () => {
  const paths = resolvePaths({ SECRETFS_HOME: join(home, 'c') });
  await readPolicyScope(paths);
  await writeFile(policyScopeFile(paths), 'not hex\n');
  try {
    await readPolicyScope(paths);
    assert.unreachable('must throw');
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, /volume-policy-scope is damaged \(expected 32 hex digits\)/);
  }
  assert.is(await readFile(policyScopeFile(paths), 'utf8'), 'not hex\n');
});

test.run();
