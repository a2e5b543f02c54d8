import { readFileSync } from 'node:fs';

/**
 * The package root: the folder above dist/ when built (tsc's dist/lib/ or the bundle's
 * dist/cli/ and dist/cli/chunks/), else the folder above lib/ (sources run through tsx).
 */
export function packageRoot(): URL {
  const here = new URL('.', import.meta.url);
  const built = here.pathname.lastIndexOf('/dist/');
  return built >= 0 ? new URL(here.pathname.slice(0, built + 1), 'file://') : new URL('../', here);
}

/** The version in package.json. */
export function readPackageVersion(): string {
  return JSON.parse(readFileSync(new URL('package.json', packageRoot()), 'utf8')).version;
}

/** The built CLI entry point, used to start background processes (store, driver). */
export function builtCliEntry(): string {
  return new URL('dist/cli/main.js', packageRoot()).pathname;
}
