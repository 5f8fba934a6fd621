#!/usr/bin/env bash
# Create .venv-checkov (checkov, the Terraform policy scanner, kept apart because its pins clash
# with the project's; see ../shared/design/TOOLING.md "Terraform, offline"). Idempotent: a venv
# whose stamp records the same pin is kept, so `make test` pays the ~20 s install once.
# Usage: bash scripts/checkov-venv.sh   (from anywhere; the venv goes to the repository root)
#   .venv-checkov/bin/checkov -d terraform --framework terraform --skip-download --compact --quiet
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-checkov"
PY="${PYTHON:-python3}"
PIN="checkov>=3.3.30,<3.4"
STAMP="$VENV/.installed"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PIN" ] && [ -x "$VENV/bin/checkov" ]; then
    echo "checkov-venv: $VENV ready ($("$VENV/bin/pip" show checkov 2>/dev/null | awk '/^Version/{print $2}'))"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "checkov-venv: creating $VENV with $($PY --version 2>&1)"
    "$PY" -m venv "$VENV"
fi
echo "checkov-venv: installing $PIN"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$PIN"
"$VENV/bin/checkov" --version >/dev/null
echo "$PIN" > "$STAMP"
echo "checkov-venv: ready: $VENV/bin/checkov $("$VENV/bin/checkov" --version)"
