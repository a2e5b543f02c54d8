/**
 * The Node FUSE floor (forked by bench/reads.ts): fuse-native serving one in-memory file, the
 * same as fuse-floor/memfs but with every handler in JavaScript, answered synchronously, with the
 * -o options secretfs uses. argv: MOUNTPOINT SHAPE, where SHAPE is
 *   open-release  open and release handlers (what per-open snapshots and an audit of opens need)
 *   open-only     an open handler (an audit of opens) but no release: no per-open state to free
 *   path-only     no open/release handlers: libfuse answers them in C, reads are served by path
 * It shows what fuse-native's hand-off to the JS thread costs, apart from anything secretfs does.
 * The bench's only direct use of fuse-native (lib/fs owns it in the product).
 */
import { createRequire } from 'node:module';
import type FuseClass from 'fuse-native';
import type { FuseOps } from 'fuse-native';
import { floorMountOptions, FLOOR_KEY, FLOOR_VALUE } from './floors.js';

const [mountpoint, shape] = process.argv.slice(2);
const Fuse = createRequire(import.meta.url)('fuse-native') as typeof FuseClass;
const value = Buffer.from(FLOOR_VALUE);
const now = new Date();
const fileStat = { mode: 0o100444, uid: 0, gid: 0, size: value.length, nlink: 1, mtime: now, atime: now, ctime: now };
const dirStat = { mode: 0o040555, uid: 0, gid: 0, size: 0, nlink: 2, mtime: now, atime: now, ctime: now };
const ops: FuseOps = {
  getattr: (path, cb) => (path === '/' ? cb(0, dirStat as never) : path === `/${FLOOR_KEY}` ? cb(0, fileStat as never) : cb(Fuse.ENOENT)),
  readdir: (_path, cb) => cb(0, [FLOOR_KEY] as never),
  read: (_path, _fd, buf, len, pos, cb) => {
    if (pos >= value.length) return cb(0);
    cb(value.copy(buf, 0, pos, Math.min(value.length, pos + len)));
  },
};
ops.fgetattr = (path, _fd, cb) => ops.getattr!(path, cb);
if (shape === 'open-release') {
  let next = 1;
  const open = new Set<number>();
  ops.open = (_path, _flags, cb) => {
    const fd = next++;
    open.add(fd);
    cb(0, fd);
  };
  ops.release = (_path, fd, cb) => {
    open.delete(fd);
    cb(0);
  };
} else if (shape === 'open-only') {
  ops.open = (_path, _flags, cb) => cb(0, 0);
}
const fuse = new Fuse(mountpoint, ops, { force: false, mkdir: true });
const options = '-o' + floorMountOptions();
(fuse as unknown as { _fuseOptions(): string })._fuseOptions = () => options;
fuse.mount((err) => {
  if (err) {
    process.stderr.write(`mount failed: ${err.message}\n`);
    process.exit(1);
  }
  process.send?.({ ready: true });
});
const stop = () => fuse.unmount(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
