import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const test = suite('readme-quickstart');

test('the README quick start holds exactly two commands, and .ci/run runs that block', () => {
  const readme = readFileSync(root + 'README.md', 'utf8');
  const block = readme.split('<!-- quickstart -->')[1]?.split('<!-- /quickstart -->')[0] ?? '';
  const commands = block.split('\n').filter((l) => l.trim() && !l.startsWith('```'));
  assert.is(commands.length, 2, block);
  assert.is(commands[1], 'npm test');
  assert.match(commands[0], /^\.\/install\.sh && /);
  const ci = readFileSync(root + '.ci/run', 'utf8');
  assert.match(ci, /<!-- quickstart -->/);
  assert.match(ci, /set -euo pipefail/);
});

test('.ci/run installs and starts nothing itself: only the read-only preflight, then the README commands', () => {
  const ci = readFileSync(root + '.ci/run', 'utf8');
  const code = ci.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
  assert.not.match(code, /apt-get|apt |dpkg -i|npm (ci|install)/, 'no package installs');
  assert.not.match(code, /nohup\s+dockerd|^\s*dockerd\b|(&&|;|\|\|)\s*dockerd\b/m, 'no dockerd start');
  assert.not.match(code, /systemctl (start|restart)/);
  assert.match(code, /bash \.\/install\.sh --plan/);
  // The exit trap stops what the quick start started, the dockerd install.sh records included.
  assert.match(code, /trap cleanup EXIT/);
  assert.match(code, /\/run\/secretfs-install-dockerd\.pid/);
  const install = readFileSync(root + 'install.sh', 'utf8');
  assert.match(install, /SECRETFS_DOCKERD_PIDFILE:-\/run\/secretfs-install-dockerd\.pid/, 'the same pid file');
});

test.run();
