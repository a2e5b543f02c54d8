import { readFileSync } from 'node:fs';

/** The package root (two levels above this file both in lib/ and in dist/lib/). */
export function packageRoot(): URL {
  const here = new URL('.', import.meta.url);
  return here.pathname.includes('/dist/lib/') ? new URL('../../', here) : new URL('../', here);
}

/** The version in package.json. */
export function readPackageVersion(): string {
  return JSON.parse(readFileSync(new URL('package.json', packageRoot()), 'utf8')).version;
}

/** The built CLI entry point, used to start background processes (store, driver). */
export function builtCliEntry(): string {
  return new URL('dist/cli/main.js', packageRoot()).pathname;
}
