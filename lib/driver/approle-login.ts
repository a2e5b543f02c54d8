import { isVaultFailure, VaultError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Paths } from '../paths.js';
import { readOptionalFile, writePrivateFile } from '../private-files.js';
import { approleLogin } from '../vault/approle.js';
import type { RequestOptions, VaultAuth, VaultClient, VaultResponse } from '../vault/client.js';
import { renewSelf } from '../vault/tokens.js';

/**
 * The driver's AppRole login: the driver holds a role_id and secret_id, never a long-lived token.
 * It logs in at start, renews its token at about two thirds of its TTL, logs in again when a
 * renewal would not reach the next one (token_max_ttl) or fails, and after a 403 on its own
 * token. Its state (never a token or secret) is kept in `paths.driverAuthStatusFile` for
 * `driver status` and `doctor`.
 */

/** What the driver's AppRole login looks like from outside. */
export interface DriverAuthStatus {
  method: 'approle';
  /** ok: logged in; refused: Vault refused the secret_id (spent, expired or destroyed); error: Vault unreachable or other. */
  state: 'ok' | 'refused' | 'error';
  message: string;
  /** ISO time of the last successful login. */
  lastLogin?: string;
  /** ISO time the current token expires (without renewal). */
  tokenExpires?: string;
  logins: number;
  updated: string;
}

/** The AppRole part of a driver credential. */
export interface AppRoleCredential {
  mount: string;
  roleId: string;
  /** Absent once spent (a secret_id with one use is not kept after the first login). */
  secretId?: string;
  /** The secret_id's use limit when known (init made it): 1 means forget it after login. */
  secretIdNumUses?: number;
}

export interface AppRoleLoginOptions {
  /** A client for the Vault (address, TLS, namespace); its token is not used. */
  base: VaultClient;
  credential: AppRoleCredential;
  paths: Paths;
  log: Logger;
  /** Called after a login when the secret_id must not be kept (one use). */
  forgetSecretId?: () => Promise<void>;
}

const MIN_RELOGIN_GAP_MS = 2000;

/** The driver's last written AppRole login state, or undefined (token credential, or never started). */
export async function readDriverAuthStatus(paths: Paths): Promise<DriverAuthStatus | undefined> {
  const text = await readOptionalFile(paths.driverAuthStatusFile);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as DriverAuthStatus;
  } catch {
    return undefined;
  }
}

/** The driver's AppRole session; `client` always carries the current token. */
export class AppRoleLogin {
  private current: VaultClient;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private loggingIn?: Promise<void>;
  private lastAttempt = 0;
  private logins = 0;
  private status: DriverAuthStatus;
  /** A client that sends the current token and logs in again once after a 403 on it. */
  readonly client: VaultClient;

  private constructor(private readonly opts: AppRoleLoginOptions) {
    this.current = opts.base;
    this.status = { method: 'approle', state: 'error', message: 'not logged in yet', logins: 0, updated: new Date().toISOString() };
    const self = this;
    this.client = {
      get addr() {
        return self.current.addr;
      },
      get token() {
        return self.current.token;
      },
      get connection() {
        return self.current.connection;
      },
      request<T = any>(method: string, path: string, options?: RequestOptions): Promise<VaultResponse<T>> {
        return self.requestWithRelogin<T>(method, path, options);
      },
      withToken(token: string) {
        return self.current.withToken(token);
      },
    };
  }

  /** Logs in (throws a clear VaultError when Vault refuses) and starts keeping the token alive. */
  static async start(opts: AppRoleLoginOptions): Promise<AppRoleLogin> {
    const session = new AppRoleLogin(opts);
    await session.login('start');
    return session;
  }

  /** The login state, as written to the status file. */
  get state(): DriverAuthStatus {
    return { ...this.status };
  }

  private async requestWithRelogin<T>(method: string, path: string, options?: RequestOptions): Promise<VaultResponse<T>> {
    const tokenUsed = this.current.token;
    try {
      return await this.current.request<T>(method, path, options);
    } catch (err) {
      // A 403 on our own token (expired, revoked): log in again once and retry.
      if (!isVaultFailure(err, 'forbidden') || options?.token !== undefined) throw err;
      if (this.current.token === tokenUsed) await this.relogin('403 on the driver token').catch(() => undefined);
      if (this.current.token === tokenUsed) throw err;
      return this.current.request<T>(method, path, options);
    }
  }

  private relogin(reason: string): Promise<void> {
    if (Date.now() - this.lastAttempt < MIN_RELOGIN_GAP_MS && this.loggingIn === undefined) return Promise.reject(new Error('re-login attempted moments ago'));
    return this.login(reason);
  }

  private login(reason: string): Promise<void> {
    this.loggingIn ??= this.doLogin(reason).finally(() => (this.loggingIn = undefined));
    return this.loggingIn;
  }

  private async doLogin(reason: string): Promise<void> {
    this.lastAttempt = Date.now();
    const { credential, base, log } = this.opts;
    if (!credential.secretId) {
      await this.setStatus('refused', 'the secret_id was used up at the first login (it had one use) and the token can no longer be renewed; give the driver a new secret_id with `docker secretfs init --auth approle`');
      throw new VaultError('the driver has no secret_id left to log in with', 'forbidden', undefined, { hint: 'run `docker secretfs init --auth approle` with a new secret_id' });
    }
    let auth: VaultAuth;
    try {
      auth = await approleLogin(base, credential.mount, credential.roleId, credential.secretId);
    } catch (err) {
      const refused = isVaultFailure(err, 'bad_request', 'forbidden');
      const message = refused
        ? `Vault refused the driver's AppRole login (${(err as Error).message}): the secret_id is spent, expired or destroyed; give the driver a new one with \`docker secretfs init --auth approle\``
        : `the driver's AppRole login failed: ${(err as Error).message}`;
      log.error('AppRole login failed', { reason, refused, error: (err as Error).message });
      await this.setStatus(refused ? 'refused' : 'error', message);
      this.schedule(refused ? 60 : 5);
      throw new VaultError(message, refused ? 'forbidden' : 'unreachable', (err as VaultError).status, { cause: err });
    }
    this.current = base.withToken(auth.client_token);
    this.logins++;
    const ttl = auth.lease_duration;
    log.info('AppRole login', { reason, accessor: auth.accessor, ttl, logins: this.logins });
    if (credential.secretIdNumUses === 1 && this.opts.forgetSecretId) {
      // One use: it is spent now; keeping it would only keep a dead secret on disk.
      credential.secretId = undefined;
      await this.opts.forgetSecretId();
    }
    await this.setStatus('ok', `logged in with AppRole (role_id ${credential.roleId.slice(0, 8)}...)`, ttl, true);
    this.schedule(ttl, auth.renewable);
  }

  /** Renews at ~2/3 of the TTL; logs in again when renewal fails or would not last until the next check. */
  private schedule(ttlSeconds: number, renewable = false): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    if (ttlSeconds <= 0) return;
    const delayMs = Math.max(500, Math.floor(ttlSeconds * 1000 * (2 / 3)));
    this.timer = setTimeout(() => void this.keepAlive(ttlSeconds, renewable), delayMs);
    this.timer.unref();
  }

  private async keepAlive(previousTtl: number, renewable: boolean): Promise<void> {
    if (this.closed) return;
    if (renewable) {
      try {
        const ttl = await renewSelf(this.current);
        // Capped by token_max_ttl: when what is left is less than the next check needs, log in again now.
        if (ttl >= Math.min(previousTtl, 30) * 0.5 && ttl > 1) {
          await this.setStatus('ok', this.status.message, ttl);
          this.opts.log.info('driver token renewed', { ttl });
          this.schedule(ttl, true);
          return;
        }
        this.opts.log.info('driver token near its max TTL; logging in again', { ttl });
      } catch (err) {
        this.opts.log.warn('could not renew the driver token; logging in again', { error: (err as Error).message });
      }
    }
    await this.login('token max TTL').catch(() => undefined);
  }

  private async setStatus(state: DriverAuthStatus['state'], message: string, ttlSeconds?: number, loggedInNow = false): Promise<void> {
    const now = new Date();
    const lastLogin = loggedInNow ? now.toISOString() : this.status.lastLogin;
    this.status = {
      method: 'approle',
      state,
      message,
      ...(lastLogin ? { lastLogin } : {}),
      ...(ttlSeconds ? { tokenExpires: new Date(now.getTime() + ttlSeconds * 1000).toISOString() } : {}),
      logins: this.logins,
      updated: now.toISOString(),
    };
    await writePrivateFile(this.opts.paths.driverAuthStatusFile, JSON.stringify(this.status, null, 2) + '\n').catch(() => undefined);
  }

  /** Stops renewing (the token is left to expire: revoking it would need a capability the role need not have). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
