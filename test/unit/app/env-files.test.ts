import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { dockerRunArgs, fileEnvVars } from '../../../lib/app/run-plan.js';

const test = suite('lib/app/run-plan: run --env-files variables');

test('<KEY>_FILE per file: upper-cased, - and . as _, with the prefix; paths only', () => {
  assert.equal(fileEnvVars([{ target: '/run/secrets', files: ['db-password', 'api.token', 'user'] }]), [
    'DB_PASSWORD_FILE=/run/secrets/db-password',
    'API_TOKEN_FILE=/run/secrets/api.token',
    'USER_FILE=/run/secrets/user',
  ]);
  assert.equal(fileEnvVars([{ target: '/s/db', files: ['password'] }, { target: '/s/app', files: ['key'] }], 'APP_'), ['APP_PASSWORD_FILE=/s/db/password', 'APP_KEY_FILE=/s/app/key']);
  assert.equal(fileEnvVars([{ target: '/s', files: ['1st'] }]), ['_1ST_FILE=/s/1st']);
});

test('two files giving one variable, and a bad prefix, are refused', () => {
  assert.throws(() => fileEnvVars([{ target: '/s', files: ['db-password', 'db.password'] }]), /--env-files: \/s\/db-password and \/s\/db.password would both be DB_PASSWORD_FILE/);
  assert.throws(() => fileEnvVars([{ target: '/s', files: ['a'] }], 'APP-'), /--env-prefix "APP-" is not the start of a variable name/);
});

test('the variables go before the user\'s arguments as --env flags', () => {
  assert.equal(dockerRunArgs([], 'r1', [{ volume: 'v', target: '/run/secrets' }], ['img', 'cmd'], ['A_FILE=/run/secrets/a']), [
    'run', '--rm', '--label', 'io.secretfs.run=r1', '--mount', 'type=volume,source=v,target=/run/secrets,readonly', '--env', 'A_FILE=/run/secrets/a', 'img', 'cmd',
  ]);
});

test.run();
