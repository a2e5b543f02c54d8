import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readOptionalFile, writePrivateFile } from '../private-files.js';

/**
 * What a `run` on a path that no allowed path covers made in Vault, on disk (0600; names only,
 * never a token) from before it makes it until it has removed it: the policy of each volume.
 * The driver's sweep removes a leftover volume and revokes its token; the policy only an
 * administrator's token may delete, so the next `run` deletes those of runs whose process is gone.
 */
export interface RunRecord {
  pid: number;
  policies: string[];
}

const SUFFIX = '.json';

/** Writes the record of run `runId` (before its first Vault write). */
export async function writeRunRecord(dir: string, runId: string, record: RunRecord): Promise<void> {
  await writePrivateFile(join(dir, `${runId}${SUFFIX}`), JSON.stringify(record) + '\n');
}

/** Drops the record of run `runId` (all it made is gone). */
export async function removeRunRecord(dir: string, runId: string): Promise<void> {
  await unlink(join(dir, `${runId}${SUFFIX}`)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Whether a process with this pid exists (EPERM: it does, as another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The records of runs whose process is gone, by run ID. A record that cannot be read is skipped. */
export async function deadRunRecords(dir: string): Promise<Map<string, RunRecord>> {
  const out = new Map<string, RunRecord>();
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  for (const name of names) {
    if (!name.endsWith(SUFFIX) || name.startsWith('.')) continue;
    let record: RunRecord;
    try {
      record = JSON.parse((await readOptionalFile(join(dir, name))) ?? 'null') as RunRecord;
    } catch {
      continue;
    }
    if (!record || !Number.isInteger(record.pid) || !Array.isArray(record.policies) || !record.policies.every((p) => typeof p === 'string')) continue;
    if (record.pid !== process.pid && !alive(record.pid)) out.set(name.slice(0, -SUFFIX.length), record);
  }
  return out;
}
