import { Option } from 'commander';
import { CHANGE_OPTION_NAMES } from '../lib/driver/change-options.js';
import { FS_OPTION_NAMES } from '../lib/fs/options.js';

/** Collects a repeatable flag's values in order (--path, -o, --policy, --read, --write). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The `--format` option of a command that prints structured data. */
export function formatOption(choices: string[] = ['text', 'json'], fallback = choices[0], description = 'output format'): Option {
  return new Option('--format <format>', description).choices(choices).default(fallback);
}

/** The repeatable `-o, --opt key=value` of the commands that mount a secret filesystem (run, volume create, mount). */
export function fsOptOption(): Option {
  return new Option('-o, --opt <key=value>', `a filesystem option: ${FS_OPTION_NAMES.join(', ')}`).argParser(collect).default([]);
}

/** The `-o, --opt key=value` of the commands that create a volume (run, volume create): the filesystem options and change watching. */
export function volumeOptOption(): Option {
  return new Option('-o, --opt <key=value>', `a volume option: ${[...FS_OPTION_NAMES, ...CHANGE_OPTION_NAMES].join(', ')}`).argParser(collect).default([]);
}
