import { UsageError } from '../lib/errors.js';
import type { CliContext } from './context.js';

/**
 * The only user of @inquirer/prompts. Prompts appear only on a TTY; without one, a missing value
 * is a usage error naming the flag to pass instead.
 */
export async function askSecretValue(ctx: CliContext, key: string): Promise<string> {
  if (!ctx.isInteractive) throw new UsageError(`no TTY to ask for ${key}: pipe the value on stdin or use ${key}=@FILE`);
  // Loaded on first use: most runs never prompt, and --help should not pay for it.
  const { password } = await import('@inquirer/prompts');
  const opts = { input: ctx.stdin, output: ctx.stderr };
  for (;;) {
    const first = await password({ message: `Value for ${key}:`, mask: false, validate: (v) => v.length > 0 || 'the value must not be empty' }, opts);
    const second = await password({ message: `Repeat the value for ${key}:`, mask: false }, opts);
    if (first === second) return first;
    ctx.out.warn('the values did not match; try again');
  }
}

/** Asks for a yes/no confirmation on a TTY; without one, `flag` must have been given. */
export async function confirmOrFlag(ctx: CliContext, message: string, given: boolean | undefined, flag: string): Promise<boolean> {
  if (given) return true;
  if (!ctx.isInteractive) throw new UsageError(`${message.replace(/\?$/, '')}: no TTY to confirm, pass ${flag}`);
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message, default: false }, { input: ctx.stdin, output: ctx.stderr });
}

/** What the init wizard asks; each answer defaults to what flags and the environment gave. */
export interface InitAnswers {
  backend: 'embedded' | 'vault';
  vaultAddr?: string;
  vaultToken?: string;
  tokenTyped: boolean;
  defaultPath: string;
  /** Paths the driver may serve to `docker volume create -d secretfs`; asked when no --allow was given. */
  allow: string[];
}

/** Which of the wizard's answers a flag gave already: those are not asked (turbo-gen's rule). */
export interface GivenByFlags {
  /** --embedded or --vault-addr chose the backend. */
  backend?: boolean;
  /** --vault-addr gave the address. */
  vaultAddr?: boolean;
  /** --default-path gave the path. */
  defaultPath?: boolean;
}

/** The short `init` wizard (TTY only): asks only what no flag gave. */
export async function askInitAnswers(ctx: CliContext, current: InitAnswers, validatePath: (p: string) => string | true, given: GivenByFlags = {}): Promise<InitAnswers> {
  const { select, input, password } = await import('@inquirer/prompts');
  const opts = { input: ctx.stdin, output: ctx.stderr };
  const backend = given.backend
    ? current.backend
    : await select(
        {
          message: 'Where should secrets live?',
          default: current.backend,
          choices: [
            { name: 'the embedded store on this host (no Vault needed; encrypted at rest)', value: 'embedded' as const },
            { name: 'an existing HashiCorp Vault', value: 'vault' as const },
          ],
        },
        opts,
      );
  let { vaultAddr, vaultToken, tokenTyped } = current;
  if (backend === 'vault') {
    if (!given.vaultAddr) {
      vaultAddr = await input({ message: 'Vault address:', default: vaultAddr ?? 'https://127.0.0.1:8200', validate: (v) => /^https?:\/\//.test(v) || 'an http(s):// URL' }, opts);
    }
    if (!vaultToken) {
      vaultToken = await password({ message: 'Vault token (not echoed):', mask: false, validate: (v) => v.length > 0 || 'a token is needed' }, opts);
      tokenTyped = true;
    }
  }
  const defaultPath = given.defaultPath ? current.defaultPath : await input({ message: 'Default secret path for `run`:', default: current.defaultPath, validate: validatePath }, opts);
  let allow = current.allow;
  if (allow.length === 0) {
    const answer = await input(
      {
        message: 'Paths `docker volume create -d secretfs` may serve (comma-separated; the driver can reach nothing else):',
        default: defaultPath,
        validate: (v) => v.split(',').map((p) => p.trim()).filter(Boolean).map(validatePath).find((r) => r !== true) ?? true,
      },
      opts,
    );
    allow = answer.split(',').map((p) => p.trim()).filter(Boolean);
  }
  return { backend, vaultAddr, vaultToken, tokenTyped, defaultPath, allow };
}
