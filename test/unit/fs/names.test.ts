import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VIEW_NAMES, listNames, pathParts, resolveName, splitPath, viewKindOf } from '../../../lib/fs/names.js';
import type { SecretSnapshot } from '../../../lib/fs/store.js';

const test = suite('fs/names');

function snap(data: Record<string, unknown>): SecretSnapshot {
  return { data, fetchedAt: 0, changedAt: 0, stale: false };
}

test('view names are dotfiles and recognised', () => {
  assert.is(VIEW_NAMES.json, '.secretfs.json');
  assert.is(VIEW_NAMES.env, '.secretfs.env');
  assert.is(viewKindOf('.secretfs.json'), 'json');
  assert.is(viewKindOf('.secretfs.env'), 'env');
  assert.is(viewKindOf('db-password'), undefined);
});

test('a key beats a view, a view beats a sub-path', () => {
  const s = snap({ '.secretfs.json': 'mine', db: 'key' });
  const children = ['db', '.secretfs.env', 'other'];
  assert.equal(resolveName('', '.secretfs.json', { snap: s, children }), { kind: 'key', rel: '', name: '.secretfs.json', snap: s });
  assert.equal(resolveName('', 'db', { snap: s, children }), { kind: 'key', rel: '', name: 'db', snap: s });
  assert.equal(resolveName('', '.secretfs.env', { snap: s, children }), { kind: 'view', rel: '', name: '.secretfs.env', view: 'env', snap: s });
  assert.equal(resolveName('sub', 'other', { snap: s, children }), { kind: 'dir', rel: 'sub/other' });
});

test('without a secret there are no keys or views; without a listing no sub-paths', () => {
  assert.equal(resolveName('', '.secretfs.json', { children: ['.secretfs.json'] }), { kind: 'dir', rel: '.secretfs.json' });
  assert.is(resolveName('', '.secretfs.json', {}), undefined);
  assert.is(resolveName('', 'db', { snap: snap({}) }), undefined);
  assert.is(resolveName('', 'a/b', { snap: snap({ 'a/b': 'x' }) }), undefined, 'a key that cannot be a file name is no file');
});

test('a directory lists its keys, the views and its sub-paths, each name once', () => {
  assert.equal(listNames({ snap: snap({ a: 1, 'x/y': 2, db: 3 }), children: ['db', 'sub'] }), ['a', 'db', '.secretfs.json', '.secretfs.env', '.secretfs.version', 'sub']);
  assert.equal(listNames({ children: ['sub'] }), ['sub']);
});

test('FUSE paths split into their parts', () => {
  assert.equal(pathParts('/'), []);
  assert.equal(pathParts('/sub/key'), ['sub', 'key']);
  assert.equal(splitPath('/key'), { dirRel: '', name: 'key' });
  assert.equal(splitPath('/sub/deeper/key'), { dirRel: 'sub/deeper', name: 'key' });
});

test.run();
