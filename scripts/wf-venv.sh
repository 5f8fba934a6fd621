#!/usr/bin/env bash
# Creates .venv-wf with workflows-emulator (it pins fastapi, so it lives in its own venv; see
# ../shared/design/TOOLING.md). Idempotent: does nothing when the venv already works.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-wf
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import workflows_emulator" 2>/dev/null; then
  echo "wf-venv: $VENV ready"
  exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "workflows-emulator>=1.10,<2"
echo "wf-venv: installed workflows-emulator into $VENV"
