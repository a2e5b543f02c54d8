/**
 * The open files of one mount: each fd holds the bytes its open took, so every read of that open
 * sees one version whatever Vault does meanwhile, and a read needs no Vault call and no await.
 */
export interface OpenFiles {
  /** Holds bytes under a new fd (1 .. 2^31-1, reused after wrapping). */
  open(bytes: Buffer): number;
  /** Copies up to len bytes from pos into buf: the count, 0 at or past the end, undefined for an unknown fd. */
  read(fd: number, buf: Buffer, len: number, pos: number): number | undefined;
  release(fd: number): void;
  /** How many files are open. */
  count(): number;
}

/** Creates an empty open-file table. */
export function createOpenFiles(): OpenFiles {
  const files = new Map<number, Buffer>();
  let nextFd = 1;
  return {
    open(bytes) {
      const fd = nextFd++;
      if (nextFd > 0x7fffffff) nextFd = 1;
      files.set(fd, bytes);
      return fd;
    },
    read(fd, buf, len, pos) {
      const bytes = files.get(fd);
      if (!bytes) return undefined;
      if (pos >= bytes.length) return 0;
      return bytes.copy(buf, 0, pos, Math.min(bytes.length, pos + len));
    },
    release(fd) {
      files.delete(fd);
    },
    count: () => files.size,
  };
}
