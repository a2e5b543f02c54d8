import type { AuditLog } from '../fs/audit.js';
import { mountSecretFs } from '../fs/mount.js';
import { parseFsOptions } from '../fs/options.js';
import type { Logger } from '../log.js';
import type { MountHandle, MountSpec, VolumeMounter } from './volume-driver.js';

export interface FsMounterOptions {
  log: Logger;
  /** One audit log shared by every volume's filesystem (the daemon owns and closes it). */
  audit?: AuditLog;
  /** Bound of each Vault call made by a filesystem. */
  vaultTimeoutMs?: number;
}

/** The production mounter: one lib/fs secret filesystem per volume, with the volume's own Vault client. */
export function createFsMounter(options: FsMounterOptions): VolumeMounter {
  return {
    async mount(spec: MountSpec): Promise<MountHandle> {
      const mounted = await mountSecretFs({
        vault: spec.vault,
        path: spec.path,
        mountpoint: spec.mountpoint,
        options: parseFsOptions(spec.options),
        log: options.log.child(`fs`),
        audit: options.audit,
        mountName: spec.name,
        vaultTimeoutMs: options.vaultTimeoutMs,
        kvMount: spec.kvMount,
      });
      return { unmount: () => mounted.unmount(), invalidate: () => mounted.store.clear() };
    },
  };
}
