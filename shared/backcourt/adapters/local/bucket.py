"""A folder as the bucket.

Objects below ``raw/`` are versioned as the cloud bucket is (GCS Object Versioning, on in
``terraform/modules/raw_bucket``): an overwrite keeps the previous content as a noncurrent
version in ``.versions/<path>/<generation>``, a hidden folder that ``list`` never shows. A
generation is the write time in microseconds (the file's mtime), as GCS generations are.
Exports and model artifacts, rewritten on every run, are not versioned locally.
"""

from __future__ import annotations

import builtins
import os
from datetime import UTC, datetime
from pathlib import Path

from backcourt.domain.errors import BadInput
from backcourt.ports import ObjectVersion

VERSIONS = ".versions"
VERSIONED_PREFIXES = ("raw/",)


class FolderBucket:
    """Bucket port on a local folder: object paths are relative POSIX paths below ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, path: str) -> Path:
        clean = Path(path)
        if not path.strip("/") or clean.is_absolute() or ".." in clean.parts:
            raise BadInput(f"bad object path {path!r}: a relative path below the bucket")
        return self.root / clean

    def _history(self, path: str) -> Path:
        return self.root / VERSIONS / Path(path)

    def write(self, path: str, data: bytes) -> None:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        if target.is_file() and path.startswith(VERSIONED_PREFIXES):
            keep = self._history(path)
            keep.mkdir(parents=True, exist_ok=True)
            gen = _generation(target)
            os.replace(target, keep / str(gen))
            if _generation(tmp) <= gen:  # generations only grow
                later = (gen + 1) * 1000
                os.utime(tmp, ns=(later, later))
        os.replace(tmp, target)

    def read(self, path: str) -> bytes:
        if path.startswith("/") or ".." in path.split("/") or not path.strip("/"):
            self._path(path)  # raises BadInput, as for any other call
        with open(f"{self.root}/{path}", "rb") as file:  # _path's checks on the string, for
            return file.read()  # the 20,000 files of a backfill's phase 2

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        top = base.relative_to(self.root).parts
        if any(x.startswith(".") for x in top):
            return []
        found: builtins.list[str] = []
        stack = [(base, "/".join(top))]
        while stack:  # os.scandir: as rglob("*") did (no symlinked folders), without a stat
            folder, rel = stack.pop()  # per entry; hidden names (.versions, .tmp) are skipped
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    name = f"{rel}/{entry.name}" if rel else entry.name
                    if entry.is_dir() and not entry.is_symlink():
                        stack.append((Path(entry.path), name))
                    elif entry.is_file():
                        found.append(name)
        return sorted(found)

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def move(self, src: str, dst: str) -> None:
        target = self._path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src), target)

    def versions(self, path: str) -> builtins.list[ObjectVersion]:
        live = self._path(path)
        history = self._history(path)
        out = [ObjectVersion(path, int(p.name), _updated(int(p.name)), p.stat().st_size, False)
               for p in (history.iterdir() if history.is_dir() else ()) if p.name.isdigit()]
        if live.is_file():
            gen = _generation(live)
            out.append(ObjectVersion(path, gen, _updated(gen), live.stat().st_size, True))
        return sorted(out, key=lambda v: v.generation)

    def read_version(self, path: str, generation: int) -> bytes:
        live = self._path(path)
        if live.is_file() and _generation(live) == generation:
            return live.read_bytes()
        old = self._history(path) / str(generation)
        if not old.is_file():
            raise FileNotFoundError(f"{path}#{generation}")
        return old.read_bytes()


def _generation(path: Path) -> int:
    return path.stat().st_mtime_ns // 1000


def _updated(generation: int) -> datetime:
    return datetime.fromtimestamp(generation / 1_000_000, UTC)
