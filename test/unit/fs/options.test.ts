import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../../lib/errors.js';
import { FS_DEFAULTS, FS_OPTION_NAMES, parseDurationMs, parseFsOptions, type FsOptionName, type FsOptions } from '../../../lib/fs/options.js';

const test = suite('fs/options');

/** Options back in their string form: every accepted name has a field in FsOptions. */
function formatFsOptions(o: FsOptions): Record<FsOptionName, string | undefined> {
  return {
    uid: String(o.uid),
    gid: String(o.gid),
    mode: '0' + o.mode.toString(8),
    dir_mode: '0' + o.dirMode.toString(8),
    listing: o.listing,
    cache_ttl: `${o.cacheTtlMs}ms`,
    stale_if_error: o.staleIfErrorMs === undefined ? undefined : `${o.staleIfErrorMs}ms`,
    version: o.version === undefined ? undefined : String(o.version),
    encoding: o.encoding,
    keys: o.keys?.map((k) => [k.key, k.name, k.mode === undefined ? '' : '0' + k.mode.toString(8)].join(':')).join(','),
  };
}

test('defaults: files 0444, directories 0555, root-owned, visible, cache_ttl 2s, utf8', () => {
  const o = parseFsOptions({});
  assert.equal(o, { uid: 0, gid: 0, mode: 0o444, dirMode: 0o555, listing: 'visible', cacheTtlMs: 2000, encoding: 'utf8' });
  assert.equal(o.cacheTtlMs, FS_DEFAULTS.cacheTtlMs);
});

test('every option parses', () => {
  const o = parseFsOptions({ uid: '1000', gid: '100', mode: '0440', dir_mode: '550', listing: 'hidden', cache_ttl: '500ms', stale_if_error: '5m', version: '3', encoding: 'base64' });
  assert.equal(o, { uid: 1000, gid: 100, mode: 0o440, dirMode: 0o550, listing: 'hidden', cacheTtlMs: 500, staleIfErrorMs: 300_000, version: 3, encoding: 'base64' });
});

test('FS_OPTION_NAMES lists exactly the accepted names', () => {
  assert.equal([...FS_OPTION_NAMES].sort(), ['cache_ttl', 'dir_mode', 'encoding', 'gid', 'keys', 'listing', 'mode', 'stale_if_error', 'uid', 'version']);
  for (const name of FS_OPTION_NAMES) assert.ok(name in formatFsOptions(parseFsOptions({})));
});

test('an unknown option is a UsageError naming the valid ones', () => {
  try {
    parseFsOptions({ ttl: '2s' });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, UsageError);
    assert.match((err as Error).message, /unknown option "ttl"/);
    assert.match((err as Error).message, /cache_ttl/);
  }
});

for (const [name, value] of [
  ['mode', '644x'],
  ['mode', '0o644'],
  ['mode', '9'],
  ['mode', '10644'],
  ['dir_mode', 'rwx'],
  ['uid', '-1'],
  ['uid', 'root'],
  ['gid', '4294967296'],
  ['listing', 'shown'],
  ['cache_ttl', 'soon'],
  ['cache_ttl', '2d'],
  ['cache_ttl', '5h'],
  ['stale_if_error', '0'],
  ['version', '0'],
  ['version', '1.5'],
  ['encoding', 'hex'],
] as const) {
  test(`${name}=${value} is refused with the expected form`, () => {
    assert.throws(() => parseFsOptions({ [name]: value }), (err: Error) => err instanceof UsageError && err.message.includes(`invalid ${name}=`) && /expected/.test(err.message));
  });
}

test('durations: ms, s, m, h, combined, bare seconds', () => {
  assert.is(parseDurationMs('250ms'), 250);
  assert.is(parseDurationMs('2s'), 2000);
  assert.is(parseDurationMs('1m30s'), 90_000);
  assert.is(parseDurationMs('1h'), 3600_000);
  assert.is(parseDurationMs('3'), 3000);
  assert.is(parseDurationMs('0.5'), 500);
  assert.is(parseDurationMs('x'), undefined);
  assert.is(parseDurationMs('-1s'), undefined);
});

test('cache_ttl=0 is allowed (no caching)', () => {
  assert.is(parseFsOptions({ cache_ttl: '0' }).cacheTtlMs, 0);
});

test.run();
