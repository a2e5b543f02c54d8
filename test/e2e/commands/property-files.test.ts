import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../harness/run-cli.js';
import { startTestStore, type TestStore } from '../../helpers/store.js';

/** `put PATH --from-file` and `get --format env|json` with the built CLI and the real store (no Docker needed). */
const test = suite('e2e/put --from-file and get --format env|json');
const CANARY = `CANARY-${randomBytes(6).toString('hex')}`;
let store: TestStore;
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[]) => runCli(args, { env });
const file = async (name: string, text: string) => {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
};

test.before(async () => {
  store = await startTestStore();
  dir = await mkdtemp(join(tmpdir(), 'secretfs-props-'));
  // No Docker engine on purpose (put only asks one which containers a change will signal): the
  // user's engine is never asked, and the answer does not depend on its state.
  env = { SECRETFS_HOME: join(dir, 'home'), VAULT_ADDR: store.addr, VAULT_TOKEN: store.rootToken, HOME: dir, DOCKER_HOST: `unix://${join(tmpdir(), 'secretfs-no-docker.sock')}` };
});

test.after(async () => {
  await store?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('an .env file imports every key; get --format env gives the same file back', async () => {
  const canonical = `DB_PASSWORD="${CANARY} \\$x \\"q\\""\nDB_USER="app"\nTLS_KEY="-----BEGIN-----\nabc\n-----END-----"\n`;
  const source = await file('my_service.env', `# my_service, prod\nexport DB_USER=app\nDB_PASSWORD="${CANARY} \\$x \\"q\\""   # quoted\nTLS_KEY="-----BEGIN-----\nabc\n-----END-----"\n`);
  const put = await cli(['put', 'secret/svc/prod', '--from-file', source, '--format', 'json']);
  assert.is(put.code, 0, put.stderr);
  // notify: which running containers will be signalled; null here: there is no engine to ask.
  assert.equal(JSON.parse(put.stdout), { path: 'secret/svc/prod', keys: ['DB_USER', 'DB_PASSWORD', 'TLS_KEY'], version: 1, replaced: false, notify: null });
  assert.is((await cli(['get', 'secret/svc/prod', 'DB_PASSWORD'])).stdout, `${CANARY} $x "q"`);
  const got = await cli(['get', 'secret/svc/prod', '--format', 'env']);
  assert.is(got.stdout, canonical);
  // And what get printed is a property file put reads back to the same secret.
  const again = await cli(['put', 'secret/svc/copy', '--from-file', await file('copy.env', got.stdout)]);
  assert.is(again.code, 0, again.stderr);
  assert.is((await cli(['get', 'secret/svc/copy', '--format', 'env'])).stdout, canonical);
});

test('merge by default, --replace replaces; a .json file round-trips through get --format json', async () => {
  const json = { DB_USER: 'other', PORT: 5432, FLAGS: { a: true } };
  const source = await file('svc.json', JSON.stringify(json));
  assert.is((await cli(['put', 'secret/svc/prod', '--from-file', source])).code, 0);
  const merged = JSON.parse((await cli(['get', 'secret/svc/prod', '--format', 'json'])).stdout);
  assert.equal(Object.keys(merged).sort(), ['DB_PASSWORD', 'DB_USER', 'FLAGS', 'PORT', 'TLS_KEY']);
  assert.is(merged.DB_USER, 'other');
  const replaced = await cli(['put', 'secret/svc/prod', '--from-file', source, '--replace']);
  assert.is(replaced.code, 0, replaced.stderr);
  assert.is((await cli(['get', 'secret/svc/prod', '--format', 'json'])).stdout, JSON.stringify(json, null, 2) + '\n');
});

test('a malformed file is refused with its line number, writes nothing and echoes nothing', async () => {
  const before = await cli(['history', 'secret/svc/prod', '--format', 'json']);
  const cases: [string, string, string][] = [
    ['bad.env', `A=1\nB=2\n${CANARY}\nC=3\n`, 'bad.env line 3: expected KEY=VALUE (no "=" found); nothing was written'],
    ['open.env', `A=1\nB="${CANARY}\nC=3\n`, 'bad.env'.replace('bad', 'open') + ' line 2: the double quote opened here is never closed; nothing was written'],
    ['bad.json', `{\n  "A": "${CANARY}",\n  "B": nope\n}\n`, 'bad.json line 3: malformed JSON; nothing was written'],
    ['list.json', '["A"]', 'list.json line 1: the file must hold one JSON object of keys and values; nothing was written'],
  ];
  for (const [name, text, message] of cases) {
    const res = await cli(['put', 'secret/svc/prod', '--from-file', await file(name, text)]);
    assert.is(res.code, 1, name);
    assert.is(res.stderr, `error: ${message}\n`);
    assert.not.ok(res.stdout.includes(CANARY) || res.stderr.includes(CANARY));
  }
  const both = await cli(['put', 'secret/svc/prod', 'A', '--from-file', join(dir, 'svc.json')]);
  assert.is(both.code, 1);
  assert.is(both.stderr, 'error: give either KEYs or --from-file, not both\n');
  assert.is((await cli(['history', 'secret/svc/prod', '--format', 'json'])).stdout, before.stdout, 'no new version');
});

test.run();
