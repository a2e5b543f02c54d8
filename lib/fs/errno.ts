import { VaultError, SecretfsError, ErrorCode } from '../errors.js';

/** Linux errno values as FUSE handlers return them (negated). Fixed numbers: we only run on Linux. */
export const Errno = {
  ENOENT: -2,
  EIO: -5,
  EBADF: -9,
  EACCES: -13,
  ENOTDIR: -20,
  EISDIR: -21,
  EINVAL: -22,
  EROFS: -30,
  ENOSYS: -38,
  ENODATA: -61,
} as const;

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Errno).map(([name, code]) => [code, name]));

/** The name of a (negative) errno, for audit lines: ENOENT, EACCES, ... */
export function errnoName(code: number): string {
  return ERRNO_NAMES[code] ?? `E${-code}`;
}

/**
 * Maps a failure to the errno a FUSE operation answers: not found → ENOENT, forbidden → EACCES,
 * and everything else (unreachable, timeout, 5xx, a value that cannot be rendered, a bug) → EIO,
 * so a reader never sees a hang.
 */
export function errnoFor(err: unknown): number {
  if (err instanceof FsErrno) return err.errno;
  if (err instanceof VaultError) {
    if (err.failure === 'not_found') return Errno.ENOENT;
    if (err.failure === 'forbidden') return Errno.EACCES;
    return Errno.EIO;
  }
  if (err instanceof SecretfsError && (err.code === ErrorCode.NOT_FOUND || err.code === ErrorCode.USAGE)) return Errno.ENOENT;
  return Errno.EIO;
}

/** A handler's own answer (ENOENT for a name that is not there, EISDIR, ...), carried as an error. */
export class FsErrno extends Error {
  constructor(readonly errno: number, message = `errno ${errno}`) {
    super(message);
    this.name = 'FsErrno';
  }
}
