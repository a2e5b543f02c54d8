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

test.run();
