"""A folder as the bucket."""

from __future__ import annotations

import os
from pathlib import Path

from backcourt.domain.errors import BadInput


class FolderBucket:
    """Bucket port on a local folder: object paths are relative POSIX paths below ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, path: str) -> Path:
        clean = Path(path)
        if not path.strip("/") or clean.is_absolute() or ".." in clean.parts:
            raise BadInput(f"bad object path {path!r}: a relative path below the bucket")
        return self.root / clean

    def write(self, path: str, data: bytes) -> None:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def read(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def move(self, src: str, dst: str) -> None:
        target = self._path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src), target)
