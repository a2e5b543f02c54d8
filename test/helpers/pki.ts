import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private PKI made with Debian's openssl for TLS tests: a CA, a server certificate for
 * 127.0.0.1/localhost signed by it, a client certificate signed by it, an unrelated CA, and an
 * expired server certificate. `files` are paths, `pem` their contents.
 */
export interface TestPki {
  dir: string;
  files: Record<PkiFile, string>;
  pem: Record<PkiFile, string>;
  remove(): Promise<void>;
}

export type PkiFile = 'ca.crt' | 'server.crt' | 'server.key' | 'client.crt' | 'client.key' | 'other.crt' | 'other.key' | 'expired.crt';

export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'secretfs-pki-'));
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=secretfs test CA']);
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext']);
  // Valid from 2 days ago to yesterday: expired (openssl 3.0's x509 cannot backdate; `ca` can).
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  await writeFile(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = index.txt\nserial = serial\nnew_certs_dir = .\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n[ext]\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n',
  );
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', 'server.csr', '-out', 'expired.crt', '-startdate', daysAgo(2), '-enddate', daysAgo(1), '-extensions', 'ext', '-notext']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=driver']);
  openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2']);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=other CA']);
  const names: PkiFile[] = ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key', 'other.crt', 'other.key', 'expired.crt'];
  const files = Object.fromEntries(names.map((n) => [n, join(dir, n)])) as Record<PkiFile, string>;
  const pem = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n), 'utf8')]))) as Record<PkiFile, string>;
  return { dir, files, pem, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** openssl's YYYYMMDDHHMMSSZ for a time some days ago. */
function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}
