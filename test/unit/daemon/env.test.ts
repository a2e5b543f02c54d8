import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { daemonEnv } from '../../../lib/daemon/env.js';
import { storeEnv } from '../../../lib/localvault/process.js';

/**
 * A daemon started from `docker secretfs init` or `demo` must outlive the docker CLI that ran
 * the plugin: the closing of DOCKER_CLI_PLUGIN_SOCKET tells every secretfs command to stop, so a
 * daemon that inherited it would stop as soon as that docker CLI exits.
 */
const test = suite('daemon-env');

const pluginEnv = { PATH: '/bin', DOCKER_CLI_PLUGIN_SOCKET: '@docker_cli_abc', DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: '/usr/bin/docker', VAULT_TOKEN: 'hvs.x', SECRETFS_HOME: '/tmp/h' };

test('the docker CLI plugin variables never reach a daemon, and neither does what the caller drops', () => {
  assert.equal(daemonEnv(pluginEnv, ['VAULT_TOKEN']), { PATH: '/bin', SECRETFS_HOME: '/tmp/h' });
  assert.equal(daemonEnv(pluginEnv), { PATH: '/bin', VAULT_TOKEN: 'hvs.x', SECRETFS_HOME: '/tmp/h' });
});

test('the store process gets neither the plugin socket nor the caller\'s token', () => {
  assert.equal(storeEnv(pluginEnv, '/var/lib/s'), { PATH: '/bin', SECRETFS_HOME: '/var/lib/s' });
});

test.run();
