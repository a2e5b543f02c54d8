import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import type { Paths } from '../paths.js';
import { ensurePrivateDir, readOptionalFile } from '../private-files.js';
import type { StoreTlsFiles } from './process.js';

/**
 * The embedded store's own TLS (`init --store-tls`): a CA made for this home, a certificate it
 * signed for the listen address (and 127.0.0.1, localhost), both made with openssl. The CA's key
 * is deleted once it has signed, so nothing can mint another certificate this CA vouches for;
 * the server key is 0600 in a 0700 directory. Clients (CLI, driver) trust `caFile`.
 */

/** Certificates are made for this long, and made again when less than RENEW_DAYS remain. */
const VALID_DAYS = 825;
const RENEW_DAYS = 30;

/** The store's TLS files under this home. */
export interface OwnTlsFiles extends StoreTlsFiles {
  caFile: string;
}

export function ownTlsFiles(paths: Paths): OwnTlsFiles {
  return { caFile: join(paths.storeTlsDir, 'ca.crt'), certFile: join(paths.storeTlsDir, 'server.crt'), keyFile: join(paths.storeTlsDir, 'server.key') };
}

/** The names a certificate for `host` must carry. */
function subjectNames(host: string): string[] {
  const names = new Set(['IP:127.0.0.1', 'DNS:localhost']);
  if (host !== '0.0.0.0' && host !== '::') names.add(isIP(host) ? `IP:${host}` : `DNS:${host}`);
  return [...names];
}

/** Whether the files under the home are a CA and a certificate it signed for `host`, valid for RENEW_DAYS more. */
export async function ownTlsUsable(paths: Paths, host: string, now = Date.now()): Promise<boolean> {
  const files = ownTlsFiles(paths);
  const [ca, cert, key] = await Promise.all([files.caFile, files.certFile, files.keyFile].map((f) => readOptionalFile(f).catch(() => undefined)));
  if (!ca || !cert || !key) return false;
  try {
    const caCert = new X509Certificate(ca);
    const serverCert = new X509Certificate(cert);
    if (!serverCert.verify(caCert.publicKey) || !serverCert.checkIssued(caCert)) return false;
    const checkHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    if (!(isIP(checkHost) ? serverCert.checkIP(checkHost) : serverCert.checkHost(checkHost))) return false;
    return Date.parse(serverCert.validTo) - now > RENEW_DAYS * 86_400_000 && Date.parse(caCert.validTo) - now > RENEW_DAYS * 86_400_000;
  } catch {
    return false;
  }
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new StoreError(missing ? 'openssl is not installed: the store\'s certificate cannot be made' : `openssl failed making the store's certificate: ${String(stderr).trim().split('\n').pop()}`, {
          cause: err,
          hint: missing ? 'install it (apt-get install openssl), or give the store your own: server start --tls-cert FILE --tls-key FILE' : undefined,
        }),
      );
    }),
  );
}

/**
 * Makes a new CA and a certificate for `host` under the home (replacing any there), in a private
 * scratch directory first so a failure leaves the old files as they were.
 */
export async function makeOwnTls(paths: Paths, host: string): Promise<OwnTlsFiles> {
  await ensurePrivateDir(paths.home);
  await ensurePrivateDir(paths.storeTlsDir);
  const work = await mkdtemp(join(paths.home, '.store-tls-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', String(VALID_DAYS), '-subj', '/CN=secretfs embedded store CA',
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], work);
    await writeFile(join(work, 'server.ext'), `subjectAltName=${subjectNames(host).join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
    await openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=secretfs embedded store'], work);
    await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${Date.now().toString(16)}`, '-days', String(VALID_DAYS), '-out', 'server.crt', '-extfile', 'server.ext'], work);
    const files = ownTlsFiles(paths);
    // mkdtemp made `work` 0700; the key is kept 0600 whatever openssl's umask gave it.
    const key = await readFile(join(work, 'server.key'));
    await writeFile(join(work, 'server.key.0600'), key, { mode: 0o600 });
    await rename(join(work, 'server.key.0600'), files.keyFile);
    await rename(join(work, 'server.crt'), files.certFile);
    await rename(join(work, 'ca.crt'), files.caFile);
    return files;
  } finally {
    // ca.key goes with the scratch directory: the CA signs nothing more.
    await rm(work, { recursive: true, force: true });
  }
}
