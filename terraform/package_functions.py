"""Build the Cloud Functions source zip: ``functions/`` (main.py, requirements.txt) at the root and
the ``backcourt`` package beside it as ``backcourt/``, which is how ``main.py`` imports it.

The zip is reproducible: entries sorted, fixed timestamps and permissions, no caches. The same code
gives the same bytes, so Terraform's content-addressed object name (``functions-<sha256>.zip``)
changes only when the code does, and only then do the functions redeploy. Run from anywhere::

    python terraform/package_functions.py                 # writes dist/functions-source.zip
    python terraform/package_functions.py --out other.zip

It prints the zip's path and SHA-256. Cloud Build's ``package`` step runs it (cloudbuild.yaml).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "dist" / "functions-source.zip"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}


def _files(root: Path) -> Iterator[Path]:
    """Every file below ``root`` except caches and compiled files, sorted."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not SKIPPED_DIRS.intersection(rel.parts) \
                and path.suffix not in SKIPPED_SUFFIXES:
            yield path


def entries(repo: Path = REPO) -> dict[str, Path]:
    """Archive name → file: ``main.py`` and ``requirements.txt`` of ``functions/`` at the root,
    the package under ``backcourt/``."""
    functions = repo / "functions"
    out = {p.name: p for p in (functions / "main.py", functions / "requirements.txt")}
    package = repo / "shared" / "backcourt"
    for path in _files(package):
        out["backcourt/" + path.relative_to(package).as_posix()] = path
    missing = [name for name, path in out.items() if not path.is_file()]
    if missing or "backcourt/__init__.py" not in out:
        raise FileNotFoundError(f"function source incomplete: {missing or 'backcourt/__init__.py'}")
    return dict(sorted(out.items()))


def build(out: Path, repo: Path = REPO) -> str:
    """Write the zip to ``out`` and return its SHA-256 (hex)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, path in entries(repo).items():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return hashlib.sha256(out.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Build the zip where ``--out`` says and print its path and digest."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="zip to write")
    args = parser.parse_args(argv)
    digest = build(args.out)
    print(f"{args.out} sha256={digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
