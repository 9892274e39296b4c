#!/usr/bin/env bash
# Runs the e2e test files one by one in reverse order of their paths (node --test sorts
# the files it is given, so each file gets its own run), to show that no file depends on
# what an earlier one left behind. Exits 1 if any file fails; prints one line per file.
# Usage: scripts/test-reverse.sh [FILE...]   (default: every test/e2e/**/*.test.ts)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
npm run build >/dev/null || exit 1
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find test/e2e -name '*.test.ts' | sort -r)
fi
failed=()
for f in "${files[@]}"; do
  start=$SECONDS
  if scripts/node --test --test-concurrency=1 --test-timeout=600000 "$f"; then
    echo "test-reverse: pass $f ($((SECONDS - start)) s)"
  else
    echo "test-reverse: FAIL $f ($((SECONDS - start)) s)"
    failed+=("$f")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "test-reverse: ${#failed[@]} of ${#files[@]} files failed: ${failed[*]}"
  exit 1
fi
echo "test-reverse: all ${#files[@]} files passed"
