import { UsageError, VaultError, isVaultFailure } from '../errors.js';
import type { Logger } from '../log.js';
import type { VaultClient } from '../vault/client.js';
import { findAllowPolicy, mintThroughRole, notMintable } from '../access/boundary.js';
import { recreateVolumeCommand, volumeTokenRequest } from '../access/volume-access.js';
import { readPolicy } from '../vault/policy.js';
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
import type { TokenSource, VolumeDefinition } from './state.js';
import type { IssuedToken, VolumeCredential, VolumeTokens } from './volume-driver.js';

/**
 * A volume whose token is gone (a driver restart, or a renewal that ran out) and whose policies the
 * driver may not mint again: it needs a new token from an administrator, never a wider one.
 */
export class NeedsTokenError extends UsageError {}

/**
 * Why a volume without a live token cannot get one from the driver (a wrapped token whose policies
 * the role does not let the driver mint), or undefined. Pure: status reads it from the state too.
 */
export function needsNewToken(def: VolumeDefinition): string | undefined {
  if (def.tokenSource !== 'wrapped') return undefined;
  const why = notMintable(def.policies);
  return why ? `volume ${def.name} needs a new token: ${why}; it is not given a wider one` : undefined;
}

interface LiveToken {
  name: string;
  path: string;
  /** The token's policies: what a re-mint asks for again, exactly. */
  policies: string[];
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
 * Volume tokens against a real Vault: one child token per volume, minted with the driver's
 * credential through the `secretfs-volume` role (or directly when the credential is a root token)
 * with the policy of the allowed path that covers the volume, renewed at about 2/3 of the TTL,
 * re-minted with the same policies when renewal fails, revoked at Remove. The driver writes no
 * policy. Tokens live in memory only; the state keeps accessors and policy names.
 *
 * A wrapped token given at Create is unwrapped there (so what Docker stores is spent) and used
 * until it can no longer be renewed. After a driver restart it is gone with the process: the
 * volume gets a token with the same policies when the role lets the driver mint them (an
 * administrator's `secretfs-volume-*` or `secretfs-allow-*`), and otherwise needs a new token.
 */
export class VaultVolumeTokens implements VolumeTokens {
  private readonly live = new Map<string, LiveToken>();
  /** Volumes whose token cannot be re-minted, with the reason (shown by status and doctor). */
  private readonly blocked = new Map<string, string>();
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

  /**
   * Mints a volume token. Without `policies` (a volume the driver creates) the token gets the
   * policy of the allowed path that covers `path`; with them (a re-mint) exactly those again,
   * through the role, or NeedsTokenError when the driver may not mint them.
   */
  private async mint(name: string, path: string, policies?: string[], checked = false): Promise<MintedToken> {
    await this.checkCredential();
    const vault = this.opts.driverVault;
    const remint = policies !== undefined && !checked;
    if (policies === undefined) policies = await this.policiesFor({ name, path });
    else if (!checked) {
      const why = notMintable(policies);
      if (why) throw this.refuseWider(name, path, why);
      for (const p of policies.filter((x) => x.startsWith('secretfs-allow-'))) {
        // An allowed path the administrator took back: a token with that name would read nothing.
        await readPolicy(vault, p).catch((err) => {
          if (isVaultFailure(err, 'not_found')) throw this.refuseWider(name, path, `the allowed path of policy ${p} was removed (allow it again with \`docker secretfs allow ${path}\`)`);
          throw err;
        });
      }
    }
    const req = volumeTokenRequest({ volume: name, path, policies, issuer: this.opts.driverName ?? 'secretfs', ttl: this.opts.ttl });
    try {
      // A root credential (a dev VAULT_TOKEN) has no role to go through; it mints the same token directly.
      return this.isRoot ? await createToken(vault, req) : await mintThroughRole(vault, req);
    } catch (err) {
      if (remint && isVaultFailure(err, 'bad_request')) throw this.refuseWider(name, path, `Vault refused to mint its policies (${policies.join(', ')}): ${(err as Error).message}`, err);
      throw err;
    }
  }

  private refuseWider(name: string, path: string, why: string, cause?: unknown): NeedsTokenError {
    const reason = `volume ${name} needs a new token: ${why}; it is not given a wider one`;
    this.blocked.set(name, reason);
    return new NeedsTokenError(`${reason}. Remove it and create it again: \`${recreateVolumeCommand(name, path)}\``, { cause });
  }

  private hold(name: string, path: string, minted: MintedToken, source: TokenSource, policies: string[]): LiveToken {
    const previous = this.live.get(name);
    if (previous?.timer) clearTimeout(previous.timer);
    const switchable = previous?.switchable ?? createSwitchableVaultClient(this.opts.driverVault, minted.token);
    switchable.setToken(minted.token);
    const entry: LiveToken = { name, path, policies, accessor: minted.accessor, source, ttlSeconds: minted.ttlSeconds, renewable: minted.renewable, switchable };
    this.live.set(name, entry);
    this.blocked.delete(name);
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
      const minted = await this.mint(entry.name, entry.path, entry.policies);
      if (this.live.get(entry.name) !== entry) {
        // Removed meanwhile: do not leave the new token behind.
        await revokeAccessor(this.opts.driverVault, minted.accessor).catch(() => {});
        return;
      }
      const old = entry.accessor;
      const next = this.hold(entry.name, entry.path, minted, 'minted', entry.policies);
      await revokeAccessor(this.opts.driverVault, old).catch(() => {});
      this.opts.log.info('volume token re-minted', { volume: entry.name, accessor: next.accessor, oldAccessor: old, policies: entry.policies.join(',') });
      this.listener?.(entry.name, next.accessor, 'minted');
    } catch (err) {
      if (err instanceof NeedsTokenError) {
        // Retrying cannot help: the old token serves until it expires, then reads fail with EACCES.
        this.opts.log.error('a volume token cannot be re-minted without widening it', { volume: entry.name, err });
        return;
      }
      this.opts.log.error('could not re-mint a volume token; retrying', { volume: entry.name, err });
      this.scheduleRenewal(entry, this.opts.retryMs ?? 30_000);
    }
  }

  /**
   * Asked of Vault at every Create, never cached: an allowed path taken back is refused at the
   * next Create with the command that allows it (run's fast lane drops its record on that refusal).
   */
  async policiesFor(volume: { name: string; path: string }): Promise<string[]> {
    await this.checkCredential();
    return [(await findAllowPolicy(this.opts.driverVault, volume.path)).policy];
  }

  async issue(volume: { name: string; path: string }, wrappedToken?: string, policies?: string[]): Promise<IssuedToken> {
    if (wrappedToken === undefined) {
      const minted = await this.mint(volume.name, volume.path, policies, policies !== undefined);
      const entry = this.hold(volume.name, volume.path, minted, 'minted', minted.policies);
      return { accessor: entry.accessor, tokenSource: 'minted', policies: entry.policies };
    }
    const minted = await this.unwrap(wrappedToken);
    const entry = this.hold(volume.name, volume.path, minted, 'wrapped', minted.policies);
    return { accessor: entry.accessor, tokenSource: 'wrapped', policies: entry.policies };
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
    if (existing) return { vault: existing.switchable.client, accessor: existing.accessor, tokenSource: existing.source, policies: existing.policies };
    // No token in memory: this process was restarted. Mint the same policies again (never wider) and
    // revoke the token nobody holds any more. A state from before policies were kept knows them
    // only for driver-minted volumes (the allowed path); a wrapped one then needs a new token.
    const policies = def.policies.length > 0 ? def.policies : def.tokenSource === 'minted' ? undefined : [];
    const minted = await this.mint(def.name, def.path, policies);
    const entry = this.hold(def.name, def.path, minted, 'minted', policies ?? minted.policies);
    if (def.accessor && def.accessor !== entry.accessor) {
      await revokeAccessor(this.opts.driverVault, def.accessor).catch((err) =>
        this.opts.log.debug('old volume token already gone', { volume: def.name, accessor: def.accessor, err }),
      );
    }
    this.opts.log.info('volume token re-minted after restart', { volume: def.name, accessor: entry.accessor, policies: entry.policies.join(','), was: def.tokenSource });
    return { vault: entry.switchable.client, accessor: entry.accessor, tokenSource: 'minted', policies: entry.policies };
  }

  needsToken(def: VolumeDefinition): string | undefined {
    if (this.live.has(def.name)) return undefined;
    const known = this.blocked.get(def.name);
    if (known) return known;
    return needsNewToken(def);
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
    this.blocked.delete(def.name);
  }

  async revokeAccessor(accessor: string): Promise<void> {
    try {
      await revokeAccessor(this.opts.driverVault, accessor);
    } catch (err) {
      // An accessor Vault no longer knows belongs to a token that is already gone.
      if (!isVaultFailure(err, 'bad_request', 'not_found')) throw err;
    }
  }

  close(): void {
    this.closed = true;
    if (this.selfTimer) clearTimeout(this.selfTimer);
    for (const entry of this.live.values()) if (entry.timer) clearTimeout(entry.timer);
  }
}
