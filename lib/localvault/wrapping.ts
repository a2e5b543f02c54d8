import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { parseDurationSeconds } from '../duration.js';
import { badRequest, permissionDenied, str, type Reply, type VaultRequest } from './envelope.js';
import { authenticate } from './auth.js';
import type { Core } from './core.js';
import type { TokenEntry } from './state.js';
import { recordKey } from './records.js';

/**
 * Response wrapping: a response is stored under a single-use token with a TTL and handed out as
 * `wrap_info`; sys/wrapping/unwrap returns it once. The stored response is encrypted under a key
 * derived from the wrapping token itself, so the store cannot read it back without that token.
 */

export const INVALID_WRAPPING_TOKEN = 'wrapping token is not valid or does not exist';

/**
 * Parses X-Vault-Wrap-TTL ("300", "15s", "5m"); 0 when absent. Errors carry Vault's prefix; huge
 * values behave as in Vault (Go's int64 nanoseconds: a wrapped-around negative is refused).
 */
export function parseWrapTtl(header: string | undefined): number {
  if (header === undefined || header === '') return 0;
  const refuse = (why: string) => badRequest(`error parsing X-Vault-Wrap-TTL header: ${why}`);
  let ttl: number;
  try {
    ttl = parseDurationSeconds(header);
  } catch (err) {
    throw refuse((err as Error).message);
  }
  if (ttl < 0) throw refuse('requested wrap ttl cannot be negative');
  return ttl;
}

function wrapKey(core: Core, token: string): Buffer {
  return createHmac('sha256', core.state.hmacKey).update('response-wrapping\0').update(token).digest();
}

/** Stores a response body under a new wrapping token; returns the envelope carrying wrap_info. */
export function wrapResponse(core: Core, req: VaultRequest, body: string, ttl: number, wrappedAccessor?: string): Record<string, unknown> {
  const { token, accessor } = core.tokens.generate();
  const nowMs = Date.now();
  const te: TokenEntry = {
    hash: core.tokens.hash(token),
    accessor,
    policies: ['response-wrapping'],
    parent: '',
    meta: null,
    displayName: 'response-wrapping',
    numUses: 1,
    creationTime: Math.floor(nowMs / 1000),
    ttl,
    explicitMaxTtl: ttl,
    period: 0,
    expireAt: nowMs + ttl * 1000,
    lastRenewal: 0,
    renewable: false,
    path: req.path,
    role: '',
    wrapping: true,
  };
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrapKey(core, token), iv);
  const ct = Buffer.concat([cipher.update(body, 'utf8'), cipher.final()]);
  const creationTime = new Date(nowMs).toISOString();
  core.tokens.insert(te);
  core.state.wraps.set(accessor, {
    accessor,
    creationPath: req.path,
    creationTime,
    ttl,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ct.toString('base64'),
  });
  core.touch(recordKey.wrap(accessor));
  const wrapInfo: Record<string, unknown> = { token, accessor, ttl, creation_time: creationTime, creation_path: req.path };
  if (wrappedAccessor) wrapInfo.wrapped_accessor = wrappedAccessor;
  return {
    request_id: req.id,
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: wrapInfo,
    warnings: null,
    auth: null,
  };
}

/** The live wrapping token entry for a token string, or a 400 with Vault's message. */
function wrappingEntry(core: Core, token: string): TokenEntry {
  const te = token ? core.tokens.lookup(token) : undefined;
  if (!te || !te.wrapping || !core.state.wraps.has(te.accessor)) throw badRequest(INVALID_WRAPPING_TOKEN);
  return te;
}

/** Decrypts and consumes a wrapped response; the wrapping token is revoked. */
function consume(core: Core, token: string): unknown {
  const te = wrappingEntry(core, token);
  const w = core.state.wraps.get(te.accessor)!;
  const decipher = createDecipheriv('aes-256-gcm', wrapKey(core, token), Buffer.from(w.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(w.tag, 'base64'));
  const text = Buffer.concat([decipher.update(Buffer.from(w.ciphertext, 'base64')), decipher.final()]).toString('utf8');
  core.tokens.revokeTree(te);
  return JSON.parse(text);
}

/**
 * POST sys/wrapping/unwrap. The wrapping token comes in the body (the caller authenticates with
 * its own token) or as the request token. Sending a wrapping token both ways burns it, as in Vault.
 */
export function unwrap(core: Core, req: VaultRequest): Reply {
  const bodyToken = str(req.body, 'token');
  if (bodyToken) {
    // The caller authenticates with its own token; a wrapping token sent as that token is spent here.
    const caller = authenticate(core, req);
    if (caller.wrapping) {
      core.tokens.revokeTree(caller);
    }
    if (!req.acl!.allows('sys/wrapping/unwrap', ['update'])) throw permissionDenied();
    return { raw: consume(core, bodyToken) };
  }
  const te = wrappingEntry(core, req.token);
  req.te = te;
  return { raw: consume(core, req.token) };
}

/** POST sys/wrapping/lookup {token}: creation path, time and TTL, without using the token. */
export function wrapLookup(core: Core, req: VaultRequest): Reply {
  const token = str(req.body, 'token') || req.token;
  const te = wrappingEntry(core, token);
  const w = core.state.wraps.get(te.accessor)!;
  return { data: { creation_path: w.creationPath, creation_time: w.creationTime, creation_ttl: w.ttl } };
}

/** POST sys/wrapping/wrap: wraps the request body (requires X-Vault-Wrap-TTL). */
export function wrapData(_core: Core, req: VaultRequest): Reply {
  if (!req.wrapTtl) throw badRequest('endpoint requires response wrapping to be used');
  return { data: { ...req.body } };
}

/** POST sys/wrapping/rewrap {token}: moves a wrapped response to a new wrapping token with the same TTL. */
export function rewrap(core: Core, req: VaultRequest): Reply & { rewrapped?: Record<string, unknown> } {
  const token = str(req.body, 'token') || req.token;
  const te = wrappingEntry(core, token);
  const w = core.state.wraps.get(te.accessor)!;
  const ttl = w.ttl;
  const creationPath = w.creationPath;
  const payload = consume(core, token);
  const envelope = wrapResponse(core, { ...req, path: creationPath }, JSON.stringify(payload), ttl);
  return { raw: envelope };
}
