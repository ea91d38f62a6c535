#!/usr/bin/env bash
# The web front end's tests, as `.ci/test` runs them: installs what is
# missing (Chromium from Debian, npm packages), runs the unit tests, checks
# the committed bundle is current, then drives the designer and inspector
# in headless Chromium against `flowstate serve --memory`.
# Screenshots: tests/artifacts/web/*.png (not committed).
#
# FLOWSTATE_BIN=path skips building the flowstate binary.
set -euo pipefail
web="$(cd "$(dirname "$0")/.." && pwd)"
root="$(dirname "$web")"
fail() { echo "error: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || fail "Node.js (20 or later) and npm are needed: apt-get install -y nodejs npm"
command -v npm >/dev/null 2>&1 || fail "npm is needed: apt-get install -y npm"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "== installing Chromium (Debian packages chromium, chromium-driver)"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "Chromium is missing and installing it needs root: apt-get install -y --no-install-recommends chromium chromium-driver"
    sudo=sudo
  fi
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } \
    || fail "cannot install Chromium with apt-get (are Debian's package mirrors reachable?)"
  [ -x "$CHROMIUM" ] || fail "apt-get installed chromium but $CHROMIUM does not exist; set CHROMIUM=<path>"
fi
export CHROMIUM

cd "$web"
echo "== npm ci (web/)"
npm ci --no-audit --no-fund --loglevel=error || fail "npm ci failed in web/: the npm registry (registry.npmjs.org) must be reachable"
echo "== web unit tests"
npx vitest run
echo "== web/dist is current"
tests/check-dist.sh

bin="${FLOWSTATE_BIN:-}"
if [ -z "$bin" ]; then
  echo "== cargo build (the flowstate binary)"
  # --workspace: the feature set of `cargo test --workspace`, so nothing is rebuilt.
  (cd "$root" && cargo build -q --workspace --bins)
  target="$(cd "$root" && cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
  bin="$target/debug/flowstate"
fi

# A scratch directory: serve would pick up a flowstate.toml from its cwd.
work="$(mktemp -d)"
log="$work/serve.log"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
(cd "$work" && exec "$bin" serve --memory --port 0) >"$log" 2>&1 &
server=$!
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log" | head -1)"
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; fail "flowstate serve exited"; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; fail "flowstate serve did not print its URL"; }
echo "== browser tests against $url"
FLOWSTATE_URL="$url/" ARTIFACTS="$root/tests/artifacts/web" node tests/e2e.mjs
