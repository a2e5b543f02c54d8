/**
 * Ambient types for the subset of fuse-native 2.2.6 that lib/fs/mount.ts uses.
 * fuse-native ships no types; these follow its index.js (callback conventions included).
 */
declare module 'fuse-native' {
  /** A node's attributes as fuse-native turns them into `struct stat` (times as Date or ms). */
  export interface FuseStat {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    nlink?: number;
    mtime?: Date | number;
    atime?: Date | number;
    ctime?: Date | number;
    blksize?: number;
    blocks?: number;
    ino?: number;
  }

  /** statfs(2) fields fuse-native forwards. */
  export interface FuseStatfs {
    bsize?: number;
    frsize?: number;
    blocks?: number;
    bfree?: number;
    bavail?: number;
    files?: number;
    ffree?: number;
    favail?: number;
    fsid?: number;
    flag?: number;
    namemax?: number;
  }

  /** Result callback: 0 (or, for read/write, a byte count) on success, a negative errno on failure. */
  export type FuseCallback<T = void> = (code: number, value?: T) => void;

  /** The handlers we implement; any other operation answers ENOSYS in libfuse. */
  export interface FuseOps {
    init?(cb: FuseCallback): void;
    statfs?(path: string, cb: FuseCallback<FuseStatfs>): void;
    getattr?(path: string, cb: FuseCallback<FuseStat>): void;
    fgetattr?(path: string, fd: number, cb: FuseCallback<FuseStat>): void;
    access?(path: string, mode: number, cb: FuseCallback): void;
    readdir?(path: string, cb: (code: number, names?: string[], stats?: FuseStat[]) => void): void;
    open?(path: string, flags: number, cb: FuseCallback<number>): void;
    opendir?(path: string, flags: number, cb: FuseCallback<number>): void;
    read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErrno: number) => void): void;
    release?(path: string, fd: number, cb: FuseCallback): void;
    releasedir?(path: string, fd: number, cb: FuseCallback): void;
    write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErrno: number) => void): void;
    create?(path: string, mode: number, cb: FuseCallback<number>): void;
    unlink?(path: string, cb: FuseCallback): void;
    rename?(src: string, dest: string, cb: FuseCallback): void;
    link?(src: string, dest: string, cb: FuseCallback): void;
    symlink?(src: string, dest: string, cb: FuseCallback): void;
    mkdir?(path: string, mode: number, cb: FuseCallback): void;
    rmdir?(path: string, cb: FuseCallback): void;
    chmod?(path: string, mode: number, cb: FuseCallback): void;
    chown?(path: string, uid: number, gid: number, cb: FuseCallback): void;
    truncate?(path: string, size: number, cb: FuseCallback): void;
    ftruncate?(path: string, fd: number, size: number, cb: FuseCallback): void;
    utimens?(path: string, atime: number, mtime: number, cb: FuseCallback): void;
    mknod?(path: string, mode: number, dev: number, cb: FuseCallback): void;
    setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: FuseCallback): void;
    removexattr?(path: string, name: string, cb: FuseCallback): void;
    fsync?(path: string, datasync: number, fd: number, cb: FuseCallback): void;
    flush?(path: string, fd: number, cb: FuseCallback): void;
  }

  /** Constructor options (index.js `_fuseOptions`), plus the per-operation timeout. */
  export interface FuseOptions {
    force?: boolean;
    mkdir?: boolean;
    timeout?: number | false | Record<string, number | false>;
    debug?: boolean;
    allowOther?: boolean;
    defaultPermissions?: boolean;
    fsname?: string;
    subtype?: string;
    kernelCache?: boolean;
    autoCache?: boolean;
    entryTimeout?: number;
    attrTimeout?: number;
    acAttrTimeout?: number;
    [key: string]: unknown;
  }

  /** One FUSE mount served on the JS thread of this process. */
  class Fuse {
    constructor(mnt: string, ops: FuseOps, opts?: FuseOptions);
    readonly mnt: string;
    opts: FuseOptions;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    /** Lazily unmounts with `fusermount -uz`. */
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    static ENOENT: number;
    static EACCES: number;
    static EIO: number;
    static EROFS: number;
  }
  export default Fuse;
}
