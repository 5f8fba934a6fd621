#!/usr/bin/env bash
# Create .venv-bq (the bqemulator venv, kept apart because it pins sqlglot < 30.12 and
# protobuf 6) with the recipe of TOOLING.md. Idempotent: an existing venv with bqemulator is
# kept; the spatial-extension import runs every time (every fresh machine needs it).
# Usage: bash scripts/bq-venv.sh   (from anywhere; the venv goes to the repository root)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bq"
PY="${PYTHON:-python3}"
DUCKDB_VERSION="1.5.5"

if [ -x "$VENV/bin/python" ]; then
    echo "bq-venv: $VENV exists"
else
    echo "bq-venv: creating $VENV with $($PY --version 2>&1)"
    "$PY" -m venv "$VENV"
fi

if [ -x "$VENV/bin/bqemulator" ]; then
    echo "bq-venv: bqemulator already installed ($("$VENV/bin/pip" show bqemulator 2>/dev/null | awk '/^Version/{print $2}'))"
else
    echo "bq-venv: installing bqemulator, google-cloud-bigquery, duckdb==$DUCKDB_VERSION"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check bqemulator google-cloud-bigquery numpy \
        "duckdb==$DUCKDB_VERSION" "duckdb-extension-spatial==$DUCKDB_VERSION" \
        "duckdb-extensions==$DUCKDB_VERSION"
fi

echo "bq-venv: importing the DuckDB spatial extension (bqemulator cannot download it)"
"$VENV/bin/python" -c "from duckdb_extensions import import_extension; import_extension('spatial')"
echo "bq-venv: ready: $VENV/bin/bqemulator start --project demo --rest-port P --grpc-port Q"
