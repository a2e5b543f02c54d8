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
  const opts = { output: process.stderr };
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
  return confirm({ message, default: false }, { output: process.stderr });
}
