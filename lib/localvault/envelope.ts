import type { Acl } from './acl.js';
import type { TokenEntry } from './state.js';

/**
 * Vault's wire shapes: the response envelope, the `{"errors": [...]}` error body and the exact
 * error texts clients match on.
 */

/** The text modern Vault sends with a 403 from the ACL check. */
export const MSG_PERMISSION_DENIED = '1 error occurred:\n\t* permission denied\n\n';
/** The text Vault sends with a 403 for a missing, expired or revoked token. */
export const MSG_INVALID_TOKEN = '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n';

/** An HTTP error with Vault's body `{"errors": [...]}`. */
export class VaultHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
    /** A full envelope to send instead of `{errors}` (KV v2 deleted-version 404). */
    readonly reply?: Reply,
  ) {
    super(errors[0] ?? `status ${status}`);
  }
}

/** 400 with one message. */
export const badRequest = (msg: string) => new VaultHttpError(400, [msg]);
/** 403 from the ACL. */
export const permissionDenied = () => new VaultHttpError(403, [MSG_PERMISSION_DENIED]);
/** 403 for a bad token. */
export const invalidToken = () => new VaultHttpError(403, [MSG_INVALID_TOKEN]);
/** 404 with an empty error list (missing secret, empty list). */
export const notFound = () => new VaultHttpError(404, []);
/** 405 for a method the path does not support. */
export const unsupportedOperation = () => new VaultHttpError(405, ['1 error occurred:\n\t* unsupported operation\n\n']);
/** 404 for a path inside a mount that the engine does not serve. */
export const unsupportedPath = () => new VaultHttpError(404, ['1 error occurred:\n\t* unsupported path\n\n']);
/** 404 for a path no mount or system route serves. */
export const noHandler = (path: string) => new VaultHttpError(404, [`no handler for route ${JSON.stringify(path)}. route entry not found.`]);

/** The `auth` block of a response that carries a token. */
export interface AuthBlock {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: string;
  orphan: boolean;
  mfa_requirement: null;
  num_uses: number;
}

/** What a handler returns; the router turns it into the HTTP answer. */
export interface Reply {
  /** Default: 200 when there is a body, else 204. */
  status?: number;
  data?: Record<string, unknown> | null;
  auth?: AuthBlock | null;
  warnings?: string[];
  leaseDuration?: number;
  renewable?: boolean;
  /** Copy `data` fields to the top level, as Vault does for sys/mounts, sys/policy, sys/capabilities*. */
  topLevel?: boolean;
  /** Send this JSON as the body, no envelope (sys/health, sys/seal-status, unwrap). */
  raw?: unknown;
  mountType?: string;
  /** Set by handlers that created a token, so a wrapped answer can name it (wrap_info.wrapped_accessor). */
  wrappedAccessor?: string;
}

/** Operations as Vault's ACL sees them. `write` becomes create or update after the existence check. */
export type Operation = 'read' | 'list' | 'write' | 'patch' | 'delete';

/** One parsed request. */
export interface VaultRequest {
  id: string;
  method: string;
  op: Operation;
  /** The path after /v1/, without a leading slash; LIST paths end with "/". */
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** True when the request had a non-empty body. */
  hasBody: boolean;
  contentType: string;
  /** The client token as sent (never logged). */
  token: string;
  remoteAddress: string;
  /** Requested wrap TTL in seconds; 0 = no wrapping. */
  wrapTtl: number;
  /** Filled in by authentication. */
  te?: TokenEntry;
  acl?: Acl;
  /** A token whose last use this request was: revoked after the answer is ready. */
  revokeAfter?: TokenEntry;
}

/** Builds the JSON envelope Vault answers with. */
export function envelope(reply: Reply, requestId: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    request_id: requestId,
    lease_id: '',
    renewable: reply.renewable ?? false,
    lease_duration: reply.leaseDuration ?? 0,
    data: reply.data ?? null,
    wrap_info: null,
    warnings: reply.warnings && reply.warnings.length > 0 ? reply.warnings : null,
    auth: reply.auth ?? null,
    mount_type: reply.mountType ?? '',
  };
  if (reply.topLevel && reply.data) {
    for (const [k, v] of Object.entries(reply.data)) if (!(k in body)) body[k] = v;
  }
  return body;
}

/** Reads a string field of a body, or '' (numbers are converted as Vault's weak decoding does). */
export function str(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw badRequest(`error converting input for field "${key}": expected a string`);
}

/** Reads a boolean field (accepts "true"/"false" strings and 0/1 as Vault does). */
export function bool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1' || v === 1) return true;
  if (v === 'false' || v === '0' || v === 0) return false;
  throw badRequest(`error converting input for field "${key}": cannot parse '' as bool: strconv.ParseBool: parsing ${JSON.stringify(String(v))}: invalid syntax`);
}

/** Reads an integer field. */
export function int(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw badRequest(`error converting input for field "${key}": expected an integer`);
  return n;
}

/** Reads a string list (a JSON list, or a comma-separated string as Vault's TypeCommaStringSlice). */
export function strList(body: Record<string, unknown>, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter((x) => x !== '');
  if (typeof v === 'string') return v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  throw badRequest(`error converting input for field "${key}": expected a list of strings`);
}
