// Preloaded by scripts/test.mjs (`node --import ./scripts/uvu-truth.mjs`): registers the load
// hook in uvu-truth-hooks.mjs, which patches uvu 0.5.6 so a failing hook fails its suite.
import { register } from 'node:module';

register('./uvu-truth-hooks.mjs', import.meta.url);
