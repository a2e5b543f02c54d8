import type http from 'node:http';

/**
 * Reads a request body of at most `limit` bytes. A larger one, declared in Content-Length or
 * streamed, is rejected with `tooLarge(declaredBytes)` (undefined when it was streamed) and the
 * rest is ignored. Shared by the driver's and the embedded store's servers.
 */
export function readLimitedBody(req: http.IncomingMessage, limit: number, tooLarge: (declared?: number) => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(tooLarge(declared));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => failed || resolve(Buffer.concat(chunks)));
    req.on('error', (err) => failed || reject(err));
  });
}
