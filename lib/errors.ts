/**
 * Typed errors thrown by lib/ and rendered in one place (cli/main.ts).
 * Each carries the exit code of the CLI contract and, where there is one, the next step for the user.
 */
export const ErrorCode = {
  USAGE: 'USAGE',
  CONFIG: 'CONFIG',
  CONFIG_MISSING: 'CONFIG_MISSING',
  NOT_FOUND: 'NOT_FOUND',
  VAULT_FORBIDDEN: 'VAULT_FORBIDDEN',
  VAULT_NOT_FOUND: 'VAULT_NOT_FOUND',
  VAULT_BAD_REQUEST: 'VAULT_BAD_REQUEST',
  VAULT_UNREACHABLE: 'VAULT_UNREACHABLE',
  VAULT_TIMEOUT: 'VAULT_TIMEOUT',
  VAULT_SERVER: 'VAULT_SERVER',
  DOCKER: 'DOCKER',
  MOUNT: 'MOUNT',
  STORE: 'STORE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Exit codes: 0 success, 1 usage or local error, 2 Vault or Docker failure, 130 cancelled. */
export type ExitCode = 1 | 2 | 130;

export interface ErrorDetails {
  hint?: string;
  cause?: unknown;
}

/** Base class of every error we expect; anything else is a bug and is reported as such. */
export class SecretfsError extends Error {
  readonly hint?: string;
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly exitCode: ExitCode,
    details: ErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
  }
}

/** Bad flags, arguments or input: exit 1. */
export class UsageError extends SecretfsError {
  constructor(message: string, details?: ErrorDetails) {
    super(message, ErrorCode.USAGE, 1, details);
  }
}

/** Missing or invalid configuration or local state: exit 1. */
export class ConfigError extends SecretfsError {
  constructor(message: string, details?: ErrorDetails & { missing?: boolean }) {
    super(message, details?.missing ? ErrorCode.CONFIG_MISSING : ErrorCode.CONFIG, 1, details);
  }
}

/** A local thing that was asked for does not exist (a volume, a file): exit 1. */
export class NotFoundError extends SecretfsError {
  constructor(message: string, details?: ErrorDetails) {
    super(message, ErrorCode.NOT_FOUND, 1, details);
  }
}

/** How a Vault request failed, independent of the HTTP library. */
export type VaultFailure = 'forbidden' | 'not_found' | 'bad_request' | 'unreachable' | 'timeout' | 'server';

const VAULT_CODES: Record<VaultFailure, ErrorCode> = {
  forbidden: ErrorCode.VAULT_FORBIDDEN,
  not_found: ErrorCode.VAULT_NOT_FOUND,
  bad_request: ErrorCode.VAULT_BAD_REQUEST,
  unreachable: ErrorCode.VAULT_UNREACHABLE,
  timeout: ErrorCode.VAULT_TIMEOUT,
  server: ErrorCode.VAULT_SERVER,
};

/**
 * A Vault request failed: exit 2. `status` is the HTTP status when there was a response, `body`
 * the response body Vault sent with it (e.g. KV v2's metadata of a deleted version).
 */
export class VaultError extends SecretfsError {
  readonly body?: unknown;
  constructor(
    message: string,
    readonly failure: VaultFailure,
    readonly status?: number,
    details?: ErrorDetails & { body?: unknown },
  ) {
    super(message, VAULT_CODES[failure], 2, details);
    this.body = details?.body;
  }
}

/** The Docker engine failed or could not be reached: exit 2. */
export class DockerError extends SecretfsError {
  constructor(message: string, details?: ErrorDetails) {
    super(message, ErrorCode.DOCKER, 2, details);
  }
}

/** A FUSE mount or unmount failed: exit 1 (a local failure). */
export class MountError extends SecretfsError {
  constructor(message: string, details?: ErrorDetails) {
    super(message, ErrorCode.MOUNT, 1, details);
  }
}

/** The embedded store cannot start or its data is unusable: exit 1. */
export class StoreError extends SecretfsError {
  constructor(message: string, details?: ErrorDetails) {
    super(message, ErrorCode.STORE, 1, details);
  }
}

/** True when err is a VaultError of one of the given failures. */
export function isVaultFailure(err: unknown, ...failures: VaultFailure[]): err is VaultError {
  return err instanceof VaultError && (failures.length === 0 || failures.includes(err.failure));
}
