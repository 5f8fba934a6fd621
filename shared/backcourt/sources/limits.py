"""Size limits of raw files, per source: the largest file and the largest decompressed size.

A 200 MB box score or a 300 KB gzip that inflates to 314 MB would be an out-of-memory kill in
a 1 GiB function, naming no file. Each source has a largest accepted file (the bytes as stored
or given) and a largest decompressed size; gzip is inflated as a stream that stops one chunk
past the cap, so a bomb is refused having inflated at most ``cap + CHUNK`` bytes. A refused
file raises :class:`FileTooLarge` (a ``MalformedRawFile``: phase 2 quarantines it like any file
its parser rejects, ``ingest`` refuses it) naming the file, the size and the limit's setting.

Configured from the environment (``load_settings`` reads it into ``Settings.limits`` and the
bootstrap makes it the active limits): ``BACKCOURT_MAX_FILE_MB`` and
``BACKCOURT_MAX_INFLATED_MB`` for every source, ``BACKCOURT_MAX_FILE_MB__<SOURCE>`` and
``BACKCOURT_MAX_INFLATED_MB__<SOURCE>`` for one (e.g. ``…__NBACOM_SCHEDULE``); MiB, decimals
allowed.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from backcourt.domain.errors import BadInput, MalformedRawFile
from backcourt.sources.layout import RAW, SOURCES

MIB = 1024 * 1024
CHUNK = 256 * 1024
"""Bytes inflated per step of the streamed decompression."""

DEFAULT_MIB: Mapping[str, tuple[float, float]] = MappingProxyType({
    # source: (largest file, largest decompressed), MiB. Real files: a season schedule is
    # 9 MB (0.6 MB gzip), a day of box scores or odds well under 1 MB.
    "nbacom_schedule": (32, 64),
    "nbacom_boxscore": (4, 16),
    "nbacom_leaguegamelog": (16, 64),
    "balldontlie_boxscores": (16, 32),
    "balldontlie_stats": (16, 32),
    "oddsapi_player_props": (8, 16),
    "oddsapi_game_lines": (8, 16),
    "nbacom_injury_report": (8, 16),
    "nbacom_shotchart": (16, 32),
})


class FileTooLarge(MalformedRawFile):
    """A raw file over its source's size limit (as stored, or decompressed)."""


def _bytes(mib: float) -> int:
    return max(1, int(mib * MIB))


@dataclass(frozen=True)
class SourceLimits:
    """Largest file and largest decompressed size, in bytes, per source."""

    file_bytes: Mapping[str, int] = field(default_factory=lambda: MappingProxyType(
        {s: _bytes(f) for s, (f, _) in DEFAULT_MIB.items()}))
    inflated_bytes: Mapping[str, int] = field(default_factory=lambda: MappingProxyType(
        {s: _bytes(i) for s, (_, i) in DEFAULT_MIB.items()}))

    def __hash__(self) -> int:  # Settings is hashed (the functions cache adapters per settings)
        return hash((tuple(sorted(self.file_bytes.items())),
                     tuple(sorted(self.inflated_bytes.items()))))

    def max_file(self, source: str | None) -> int:
        """The largest accepted file of ``source`` (of any source when None)."""
        if source is not None and source in self.file_bytes:
            return self.file_bytes[source]
        return max(self.file_bytes.values())

    def max_inflated(self, source: str | None) -> int:
        """The largest accepted decompressed size of ``source`` (of any source when None)."""
        if source is not None and source in self.inflated_bytes:
            return self.inflated_bytes[source]
        return max(self.inflated_bytes.values())

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SourceLimits:
        """From ``BACKCOURT_MAX_FILE_MB[__<SOURCE>]`` and ``BACKCOURT_MAX_INFLATED_MB[…]``."""
        def read(name: str) -> float | None:
            raw = env.get(name)
            if raw is None or not raw.strip():
                return None
            try:
                value = float(raw)
            except ValueError:
                raise BadInput(f"bad {name}={raw!r}: expected a size in MiB, e.g. 16") from None
            if not math.isfinite(value) or value <= 0:
                raise BadInput(f"bad {name}={raw!r}: must be a positive number of MiB")
            return value

        files, inflated = {}, {}
        every_file, every_inflated = read("BACKCOURT_MAX_FILE_MB"), read(
            "BACKCOURT_MAX_INFLATED_MB")
        for source, (file_mib, inflated_mib) in DEFAULT_MIB.items():
            key = source.upper()
            files[source] = _bytes(read(f"BACKCOURT_MAX_FILE_MB__{key}") or every_file
                                   or file_mib)
            inflated[source] = _bytes(read(f"BACKCOURT_MAX_INFLATED_MB__{key}")
                                      or every_inflated or inflated_mib)
        return cls(MappingProxyType(files), MappingProxyType(inflated))


_active: list[SourceLimits] = []


def configure(limits: SourceLimits) -> None:
    """Make ``limits`` the limits every parser applies (the bootstrap, from the settings)."""
    _active[:] = [limits]


def reset() -> None:
    """Forget the configured limits: the next :func:`active` reads the environment again."""
    _active.clear()


def active() -> SourceLimits:
    """The configured limits, else the defaults read from the process environment."""
    if not _active:
        import os

        _active.append(SourceLimits.from_env(os.environ))
    return _active[0]


def source_of(path: str) -> str | None:
    """The source of a bucket path ``raw/<source>/…`` or ``quarantine/<source>/…``; None for
    another path (a local file given to ``ingest``)."""
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part in SOURCES and (i == 0 or parts[i - 1] in (RAW, "quarantine")):
            return part
    return None


def _setting(kind: str, source: str | None) -> str:
    return f"BACKCOURT_{kind}" + (f"__{source.upper()}" if source else "")


def check_file(size: int, path: str, source: str | None = None,
               limits: SourceLimits | None = None) -> None:
    """Raise FileTooLarge when a file of ``size`` bytes is over its source's limit."""
    source = source or source_of(path)
    cap = (limits or active()).max_file(source)
    if size > cap:
        raise FileTooLarge(path, f"{size:,} bytes is over the {cap:,}-byte limit of "
                                 f"{source or 'any source'} ({_setting('MAX_FILE_MB', source)})")


def inflate(data: bytes, path: str, source: str | None = None,
            limits: SourceLimits | None = None) -> bytes:
    """Decompress gzip ``data`` as a stream, refusing it as soon as the output passes the
    source's decompressed limit (so at most ``cap + CHUNK`` bytes are ever inflated).

    Raises:
        FileTooLarge: the decompressed size passes the limit.
        MalformedRawFile: truncated or corrupt gzip.
    """
    source = source or source_of(path)
    cap = (limits or active()).max_inflated(source)
    out = bytearray()
    rest = data
    try:
        while rest:  # one gzip member after another, as gzip.decompress reads them
            inflater = zlib.decompressobj(wbits=31)
            piece = rest
            while True:
                chunk = inflater.decompress(piece, CHUNK)
                out += chunk
                if len(out) > cap:
                    raise FileTooLarge(path, f"decompresses past the {cap:,}-byte limit of "
                                             f"{source or 'any source'} "
                                             f"({_setting('MAX_INFLATED_MB', source)}); "
                                             f"{len(data):,} bytes compressed")
                piece = inflater.unconsumed_tail
                if inflater.eof or (not piece and len(chunk) < CHUNK):
                    break
            if not inflater.eof:
                raise MalformedRawFile(path, "truncated or corrupt gzip: Compressed file ended "
                                             "before the end-of-stream marker was reached")
            rest = inflater.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise MalformedRawFile(path, f"truncated or corrupt gzip: {exc}") from exc
    return bytes(out)
