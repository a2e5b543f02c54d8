import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePluginArgs } from '../../../cli/plugin-args.js';

const test = suite('cli/plugin-args');

test('plain docker invocation drops the plugin name', () => {
  assert.equal(parsePluginArgs(['secretfs', 'put', 'secret/a', 'k']), { args: ['put', 'secret/a', 'k'], dockerGlobalFlags: [] });
});

test('global docker flags before the plugin name are kept for re-invoking docker', () => {
  const parsed = parsePluginArgs(['-H', 'unix:///x', '--context', 'c', '-D', '--tlsverify', '--config=/tmp/d', 'secretfs', 'run', '--', 'img']);
  assert.equal(parsed.args, ['run', '--', 'img']);
  assert.equal(parsed.dockerGlobalFlags, ['-H', 'unix:///x', '--context', 'c', '-D', '--tlsverify', '--config=/tmp/d']);
});

test('a flag value equal to the plugin name is not taken for it', () => {
  assert.equal(parsePluginArgs(['--context', 'secretfs', 'secretfs', 'ls', 'x']).args, ['ls', 'x']);
});

test('`docker help secretfs X` is `X --help`', () => {
  assert.equal(parsePluginArgs(['help', 'secretfs', 'put']).args, ['put', '--help']);
  assert.equal(parsePluginArgs(['help', 'secretfs']).args, ['--help']);
});

test('standalone arguments are ours as they are', () => {
  assert.equal(parsePluginArgs(['put', 'secret/a', 'secretfs']).args, ['put', 'secret/a', 'secretfs']);
  assert.equal(parsePluginArgs(['--help']).args, ['--help']);
});

test.run();
