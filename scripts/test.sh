#!/usr/bin/env bash
# The README's test command: lint, types, shell checks, unit + integration tests,
# then the VM boot tests (one at a time). Ends with a plain 'N passed, N failed' line.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
step() { echo "== $*"; "$@" || { echo "!! failed: $*"; fail=1; }; }

step npx biome check electron tests bench bin scripts
step npx tsc --noEmit
step npm run --silent check:svelte
if compgen -G "installer-scripts/**/*.sh" >/dev/null || compgen -G "installer-scripts/*.sh" >/dev/null; then
  mapfile -t shells < <(find installer-scripts -name '*.sh' -type f)
  step shellcheck -x "${shells[@]}"
fi
if [ -d tests/installer-scripts ] && compgen -G "tests/installer-scripts/*.bats" >/dev/null; then
  step npx bats tests/installer-scripts
fi
mkdir -p out
step npx vitest run --project unit --passWithNoTests --reporter=default --reporter=json --outputFile.json=out/vitest-unit.json
step npx vitest run --project e2e --passWithNoTests --reporter=default --reporter=json --outputFile.json=out/vitest-e2e.json

node -e '
const fs = require("fs"); let p = 0, f = 0, s = 0, files = 0;
for (const n of ["out/vitest-unit.json", "out/vitest-e2e.json"]) {
  try {
    const r = JSON.parse(fs.readFileSync(n, "utf8")); p += r.numPassedTests; f += r.numFailedTests; s += r.numPendingTests + (r.numTodoTests || 0);
    // A file whose set-up failed fails no single test (its tests count as skipped): count it too.
    files += r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length;
  } catch { f += 1; }
}
f += files;
console.log(`tests: ${p} passed, ${f} failed, ${s} skipped`);
'
exit $fail
