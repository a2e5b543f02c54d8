import { UsageError, VaultError, isVaultFailure } from '../errors.js';
import type { Logger } from '../log.js';
import type { VaultClient } from '../vault/client.js';
import { resolveKvMount } from '../vault/kv.js';
import type { KvMount } from '../vault/kv-path.js';
import { deletePolicy, renderPolicy, writePolicy } from '../vault/policy.js';
import { createSwitchableVaultClient, type SwitchableVaultClient } from '../vault/switchable-client.js';
import {
  createToken,
  lookupSelf,
  lookupWrappingToken,
  renewSelf,
  revokeAccessor,
  revokeSelf,
  unwrapToken,
  type MintedToken,
} from '../vault/tokens.js';
import { VOLUME_TOKEN_ROLE } from './driver-policy.js';
import type { TokenSource, VolumeDefinition } from './state.js';
import type { VolumeCredential, VolumeTokens } from './volume-driver.js';
import { volumePolicyName } from './volume-name.js';

/** The least-privilege policy of one volume: read (and list) its path and below, and keep its own token alive. */
export function renderVolumePolicy(name: string, path: string, mount: KvMount): string {
  const kv = renderPolicy({ read: [path, `${path}/*`], list: true }, () => mount, `docker secretfs volume ${name}`);
  const self = [
    'path "auth/token/renew-self" {\n  capabilities = ["update"]\n}',
    'path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}',
    'path "auth/token/revoke-self" {\n  capabilities = ["update"]\n}',
  ];
  return kv + '\n' + self.join('\n\n') + '\n';
}

interface LiveToken {
  name: string;
  path: string;
  accessor: string;
  source: TokenSource;
  ttlSeconds: number;
  renewable: boolean;
  switchable: SwitchableVaultClient;
  timer?: NodeJS.Timeout;
}

export interface VaultVolumeTokensOptions {
  /** A client holding the driver's credential. */
  driverVault: VaultClient;
  log: Logger;
  /** TTL of volume tokens (renewed at about two thirds). Default 1h. */
  ttl?: string;
  /** The driver name, recorded in token metadata. */
  driverName?: string;
  timeoutMs?: number;
  /** Retry delay after a failed re-mint. */
  retryMs?: number;
  /** The credential is kept alive elsewhere (an AppRole login renews and logs in again itself). */
  credentialKeptAlive?: boolean;
}

/** Renewal at about two thirds of the TTL, as Vault's own agents do. */
export function renewalDelayMs(ttlSeconds: number): number {
  return Math.max(1000, Math.floor((ttlSeconds * 1000 * 2) / 3));
}

/**
 * Volume tokens against a real Vault: one policy `secretfs-vol-...` and one child token per volume,
 * minted with the driver's credential through the `secretfs-volume` role (or directly when the
 * credential is a root token), renewed at about 2/3 of the TTL, re-minted when renewal fails,
 * revoked at Remove. Tokens live in memory only; the state keeps accessors.
 *
 * A wrapped token given at Create is unwrapped there (so what Docker stores is spent) and used
 * until it can no longer be renewed. After a driver restart it is gone with the process: the
 * volume gets a token minted from the driver's credential, scoped to the volume's path, and the
 * switch is logged; the old token is revoked by accessor.
 */
export class VaultVolumeTokens implements VolumeTokens {
  private readonly live = new Map<string, LiveToken>();
  private listener?: (name: string, accessor: string, tokenSource: TokenSource) => void;
  private selfTimer?: NodeJS.Timeout;
  private isRoot = false;
  private checked?: Promise<void>;
  private closed = false;

  private constructor(private readonly opts: VaultVolumeTokensOptions) {}

  /**
   * Checks the driver's credential (lookup-self) and starts renewing it. A Vault that cannot be
   * reached yet (the embedded store may start after the driver) is not fatal: the check is
   * repeated before the first mint. A credential Vault refuses is.
   */
  static async start(opts: VaultVolumeTokensOptions): Promise<VaultVolumeTokens> {
    const tokens = new VaultVolumeTokens(opts);
    try {
      await tokens.checkCredential();
    } catch (err) {
      if (!isVaultFailure(err, 'unreachable', 'timeout', 'server')) throw err;
      opts.log.warn('Vault is not reachable yet; volumes will get tokens once it is', { err });
    }
    return tokens;
  }

  private checkCredential(): Promise<void> {
    this.checked ??= (async () => {
      const self = await lookupSelf(this.opts.driverVault);
      this.isRoot = self.policies.includes('root');
      this.opts.log.info('driver credential', { policies: self.policies.join(','), ttl: self.ttlSeconds, accessor: self.accessor });
      if (self.renewable && self.ttlSeconds > 0 && !this.opts.credentialKeptAlive) this.scheduleSelfRenewal(self.ttlSeconds);
    })().catch((err) => {
      this.checked = undefined;
      throw err;
    });
    return this.checked;
  }

  private scheduleSelfRenewal(ttlSeconds: number): void {
    if (this.closed) return;
    this.selfTimer = setTimeout(async () => {
      try {
        const ttl = await renewSelf(this.opts.driverVault);
        this.opts.log.info('driver credential renewed', { ttl });
        if (ttl > 0) this.scheduleSelfRenewal(ttl);
      } catch (err) {
        this.opts.log.error('could not renew the driver credential; retrying', { err });
        if (!this.closed) this.scheduleSelfRenewal(Math.max(3, Math.floor(ttlSeconds / 4)));
      }
    }, renewalDelayMs(ttlSeconds));
    this.selfTimer.unref();
  }

  onReplaced(listener: (name: string, accessor: string, tokenSource: TokenSource) => void): void {
    this.listener = listener;
  }

  private async mint(name: string, path: string): Promise<MintedToken> {
    await this.checkCredential();
    const vault = this.opts.driverVault;
    const mount = await resolveKvMount(vault, path, { via: 'sys/mounts' });
    const policy = volumePolicyName(name);
    await writePolicy(vault, policy, renderVolumePolicy(name, path, mount));
    return createToken(vault, {
      role: this.isRoot ? undefined : VOLUME_TOKEN_ROLE,
      policies: [policy],
      ttl: this.opts.ttl ?? '1h',
      renewable: true,
      noDefaultPolicy: true,
      displayName: `secretfs-vol-${name.replaceAll('/', '-')}`,
      meta: { volume: name, path, driver: this.opts.driverName ?? 'secretfs' },
    });
  }

  private hold(name: string, path: string, minted: MintedToken, source: TokenSource): LiveToken {
    const previous = this.live.get(name);
    if (previous?.timer) clearTimeout(previous.timer);
    const switchable = previous?.switchable ?? createSwitchableVaultClient(this.opts.driverVault, minted.token);
    switchable.setToken(minted.token);
    const entry: LiveToken = { name, path, accessor: minted.accessor, source, ttlSeconds: minted.ttlSeconds, renewable: minted.renewable, switchable };
    this.live.set(name, entry);
    this.scheduleRenewal(entry);
    return entry;
  }

  private scheduleRenewal(entry: LiveToken, delayMs?: number): void {
    if (this.closed) return;
    if (delayMs === undefined) {
      if (!entry.renewable || entry.ttlSeconds <= 0) return;
      delayMs = renewalDelayMs(entry.ttlSeconds);
    }
    entry.timer = setTimeout(() => void this.renew(entry), delayMs);
    entry.timer.unref();
  }

  private async renew(entry: LiveToken): Promise<void> {
    if (this.live.get(entry.name) !== entry || this.closed) return;
    try {
      const ttl = await renewSelf(entry.switchable.client);
      // A TTL that no longer grows means a max TTL is near: replace the token before it ends.
      if (ttl <= 0 || ttl < Math.min(entry.ttlSeconds, 30)) throw new VaultError(`renewal granted only ${ttl}s`, 'bad_request');
      entry.ttlSeconds = ttl;
      this.opts.log.debug('volume token renewed', { volume: entry.name, ttl });
      this.scheduleRenewal(entry);
    } catch (err) {
      this.opts.log.warn('volume token renewal failed; minting a new one', { volume: entry.name, err, accessor: entry.accessor });
      await this.replace(entry);
    }
  }

  private async replace(entry: LiveToken): Promise<void> {
    try {
      const minted = await this.mint(entry.name, entry.path);
      if (this.live.get(entry.name) !== entry) {
        // Removed meanwhile: do not leave the new token behind.
        await revokeAccessor(this.opts.driverVault, minted.accessor).catch(() => {});
        return;
      }
      const old = entry.accessor;
      const next = this.hold(entry.name, entry.path, minted, 'minted');
      await revokeAccessor(this.opts.driverVault, old).catch(() => {});
      this.opts.log.info('volume token re-minted', { volume: entry.name, accessor: next.accessor, oldAccessor: old });
      this.listener?.(entry.name, next.accessor, 'minted');
    } catch (err) {
      this.opts.log.error('could not re-mint a volume token; retrying', { volume: entry.name, err });
      this.scheduleRenewal(entry, this.opts.retryMs ?? 30_000);
    }
  }

  async issue(volume: { name: string; path: string }, wrappedToken?: string): Promise<{ accessor: string; tokenSource: TokenSource }> {
    if (wrappedToken === undefined) {
      const entry = this.hold(volume.name, volume.path, await this.mint(volume.name, volume.path), 'minted');
      return { accessor: entry.accessor, tokenSource: 'minted' };
    }
    const minted = await this.unwrap(wrappedToken);
    const entry = this.hold(volume.name, volume.path, minted, 'wrapped');
    return { accessor: entry.accessor, tokenSource: 'wrapped' };
  }

  /** Only a response-wrapped token is accepted: a plain one would sit in Docker's volume metadata. */
  private async unwrap(wrappingToken: string): Promise<MintedToken> {
    const refuse = (why: string, cause?: unknown) =>
      new UsageError(`token= must be a response-wrapped token (single use, e.g. from \`docker secretfs token --wrap\`): ${why}`, { cause });
    let info;
    try {
      info = await lookupWrappingToken(this.opts.driverVault, wrappingToken);
    } catch (err) {
      if (isVaultFailure(err, 'unreachable', 'timeout')) throw err;
      throw refuse('Vault does not know it as a wrapping token (a plain token, or one already unwrapped or expired)', err);
    }
    if (!info.creationPath?.startsWith('auth/token/create')) throw refuse(`it wraps a response of ${info.creationPath}, not a token`);
    try {
      return await unwrapToken(this.opts.driverVault, wrappingToken);
    } catch (err) {
      if (isVaultFailure(err, 'unreachable', 'timeout')) throw err;
      throw refuse('it could not be unwrapped', err);
    }
  }

  async acquire(def: VolumeDefinition): Promise<VolumeCredential> {
    const existing = this.live.get(def.name);
    if (existing) return { vault: existing.switchable.client, accessor: existing.accessor, tokenSource: existing.source };
    // No token in memory: this process was restarted. Mint a fresh one and revoke the one nobody holds any more.
    const entry = this.hold(def.name, def.path, await this.mint(def.name, def.path), 'minted');
    if (def.accessor && def.accessor !== entry.accessor) {
      await revokeAccessor(this.opts.driverVault, def.accessor).catch((err) =>
        this.opts.log.debug('old volume token already gone', { volume: def.name, accessor: def.accessor, err }),
      );
    }
    this.opts.log.info(def.tokenSource === 'wrapped' ? 'wrapped volume token lost with the restart; minted one from the driver credential' : 'volume token re-minted after restart', {
      volume: def.name,
      accessor: entry.accessor,
    });
    return { vault: entry.switchable.client, accessor: entry.accessor, tokenSource: 'minted' };
  }

  async revoke(def: VolumeDefinition): Promise<void> {
    const entry = this.live.get(def.name);
    if (entry?.timer) clearTimeout(entry.timer);
    const accessor = entry?.accessor ?? def.accessor;
    if (accessor) {
      try {
        await revokeAccessor(this.opts.driverVault, accessor);
      } catch (err) {
        if (isVaultFailure(err, 'forbidden') && entry) await revokeSelf(entry.switchable.client);
        // An accessor Vault no longer knows belongs to a token that is already gone.
        else if (!isVaultFailure(err, 'bad_request', 'not_found')) throw err;
      }
    }
    this.live.delete(def.name);
    await deletePolicy(this.opts.driverVault, volumePolicyName(def.name)).catch((err) => {
      if (!isVaultFailure(err, 'not_found')) this.opts.log.warn('could not delete the volume policy', { volume: def.name, err });
    });
  }

  close(): void {
    this.closed = true;
    if (this.selfTimer) clearTimeout(this.selfTimer);
    for (const entry of this.live.values()) if (entry.timer) clearTimeout(entry.timer);
  }
}
