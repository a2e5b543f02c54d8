// A module load hook that patches uvu 0.5.6's runner (node_modules/uvu/dist/index.mjs) so its
// results tell the truth:
// - an error thrown in a `before` hook is a failure of the suite (uvu's `finally { return }`
//   swallows it and prints `(0 / N)` in green with exit 0); the suite's cases are not run;
// - an error thrown in an `after` hook is a failure of the suite, not a crash that stops every
//   later suite;
// - a suite whose cases were declared but never run (no `.run()`, or cases added after it) is
//   reported (`[uvu-truth] not run: ...`) and fails the run.
// scripts/test.mjs checks that the patch applied (it prints `[uvu-truth] patched`).
const BEFORE = 'for (hook of before) await hook(state);';
const AFTER = 'for (hook of after) await hook(state);';
const SETUP = 'function setup(ctx, name = \'\') {';
const EXEC_END = "write('\\n  Total:     ' + total);";

function patch(source) {
  for (const needle of [BEFORE, AFTER, SETUP, EXEC_END]) {
    if (!source.includes(needle)) throw new Error(`uvu-truth: uvu's runner changed (no "${needle}"); update scripts/uvu-truth-hooks.mjs`);
  }
  return source
    .replace(BEFORE, `try { ${BEFORE} } catch (err) { errors += format('(before hook)', err, name); write(FAIL); arr = []; }`)
    .replace(AFTER, `try { ${AFTER} } catch (err) { if (errors.length) errors += '\\n'; errors += format('(after hook)', err, name); write(FAIL); }`)
    .replace(SETUP, `const UVU_TRUTH_SUITES = []; ${SETUP} UVU_TRUTH_SUITES.push([ctx, name]);`)
    .replace(
      EXEC_END,
      `for (const [ctx, sname] of UVU_TRUTH_SUITES) { const n = ctx.tests.length + ctx.only.length; if (n > 0) { write('\\n[uvu-truth] not run: suite "' + sname + '": ' + n + ' case(s) declared but never run (missing .run()?)'); code = 1; } }
	write('\\n[uvu-truth] patched');
	${EXEC_END}`,
    );
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!/\/node_modules\/uvu\/dist\/index\.mjs$/.test(url)) return result;
  return { ...result, source: patch(String(result.source)) };
}
