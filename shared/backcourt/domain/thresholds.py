"""Gate thresholds: one versioned file, ``gate.toml``, packaged with backcourt."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


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
        )
