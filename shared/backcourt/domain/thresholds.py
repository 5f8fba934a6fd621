"""Gate thresholds: one versioned file, ``gate.toml``, packaged with backcourt."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CheckSpec:
    """One named, versioned reconciliation check of ``gate.toml`` (``[checks.<name>]``)."""

    name: str
    version: int
    processors: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)  # its other keys

    @property
    def label(self) -> str:
        """``points_reconcile v1``: how a failure names its check."""
        return f"{self.name} v{self.version}"


def _checks(data: Mapping[str, Any]) -> dict[str, CheckSpec]:
    out = {}
    for name, body in data.get("checks", {}).items():
        rest = {k: v for k, v in body.items() if k not in ("version", "processors")}
        out[name] = CheckSpec(name, int(body["version"]),
                              tuple(str(p) for p in body.get("processors", ())), rest)
    return out


@dataclass(frozen=True)
class Thresholds:
    """Gate thresholds from ``gate.toml`` (one versioned file)."""

    version: int
    pass_ratio: float
    warn_ratio: float
    max_duplicate_keys: int
    max_key_null_rate: float
    min_players_per_team: int
    best_effort_min_coverage: float
    checks: Mapping[str, CheckSpec] = field(default_factory=dict, hash=False)

    def checks_of(self, processor: str) -> list[CheckSpec]:
        """The reconciliation checks whose failures go on ``processor``'s verdict."""
        return [c for c in self.checks.values() if processor in c.processors]

    @classmethod
    def load(cls, path: Path | None = None) -> Thresholds:
        """Read thresholds from ``path`` or the packaged ``gate.toml``."""
        text = (
            path.read_text() if path
            else resources.files("backcourt").joinpath("gate.toml").read_text()
        )
        data: dict[str, Any] = tomllib.loads(text)
        d = data["default"]
        return cls(
            version=int(data["version"]),
            pass_ratio=float(d["pass_ratio"]),
            warn_ratio=float(d["warn_ratio"]),
            max_duplicate_keys=int(d["max_duplicate_keys"]),
            max_key_null_rate=float(d["max_key_null_rate"]),
            min_players_per_team=int(d["min_players_per_team"]),
            best_effort_min_coverage=float(data["best_effort"]["min_game_coverage_warn"]),
            checks=_checks(data),
        )
