#!/usr/bin/env bash
# Proves the committed bundle (web/dist, embedded in the flowstate binary)
# is what its sources build to: type-checks, rebuilds into a temporary
# directory and compares file by file. Needs `npm ci` first.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx tsc --noEmit
npx vite build --logLevel warn --outDir "$out" --emptyOutDir
if ! diff -r dist "$out" >/dev/null; then
  diff -rq dist "$out" >&2 || true
  echo "error: web/dist is stale: run 'npm run build' in web/ and commit web/dist" >&2
  exit 1
fi
echo "web/dist is current"
