#!/usr/bin/env bash
# Lints the SAM template with cfn-lint: any error or warning fails.
# Installs cfn-lint with pip when it is missing (offline it then fails with
# a message saying what to install). Usage: infra/check-template.sh [template]
set -euo pipefail
cd "$(dirname "$0")/.."
template="${1:-template.yaml}"

fail() { echo "error: $*" >&2; exit 1; }
[ -f "$template" ] || fail "$template not found"

if ! command -v cfn-lint >/dev/null 2>&1; then
  command -v python3 >/dev/null 2>&1 || fail "cfn-lint is missing and so is python3: apt-get install -y python3 python3-pip, then pip install cfn-lint"
  echo "cfn-lint not found: installing it with pip" >&2
  python3 -m pip install --quiet --user cfn-lint >&2 \
    || python3 -m pip install --quiet --user --break-system-packages cfn-lint >&2 \
    || fail "could not install cfn-lint (no network?): run 'pip install cfn-lint' and try again"
  PATH="$(python3 -m site --user-base)/bin:$PATH"
  command -v cfn-lint >/dev/null 2>&1 || fail "cfn-lint installed but not on PATH: add $(python3 -m site --user-base)/bin to PATH"
fi

echo "== cfn-lint $template ($(cfn-lint --version))"
# cfn-lint exits non-zero on warnings too (4 = warning, 2 = error).
cfn-lint -- "$template"
echo "ok: no errors or warnings"
