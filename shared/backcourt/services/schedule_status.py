"""What ``backcourt status`` shows of a season's schedule: the version in use (path, object
generation, time, content hash), whether a newer one waits in the bucket, or why the season's
dates are unknown (``services.schedules``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backcourt.ports import Bucket, Warehouse
from backcourt.services.schedules import (
    ScheduleVersion,
    in_use,
    missing,
    schedule_files,
    versions,
)


@dataclass(frozen=True)
class ScheduleState:
    """Where a season's schedule stands: ``missing`` (no file: dates unknown), ``not_loaded``
    (a file, no phase-2 load yet), ``loaded`` (in use) or ``outdated`` (a newer version is in
    the bucket than the one in use)."""

    season: str
    state: str
    in_use: tuple[ScheduleVersion, ...]
    live: tuple[ScheduleVersion, ...]
    kept: int
    """Versions the bucket keeps of the season's files (live and noncurrent)."""

    def lines(self) -> list[str]:
        """What ``backcourt status`` prints."""
        s = self.season
        if self.state == "missing":
            return [f"schedule {s}: unknown — {missing(s).message}"]
        if self.state == "not_loaded":
            return [f"schedule {s}: {v.describe()} is in the bucket but not loaded: run "
                    f"`backcourt backfill --season {s} --phase 2`" for v in self.live]
        out = [f"schedule {s} in use: {v.describe()} ({self.kept} version(s) kept)"
               for v in self.in_use]
        if self.state == "outdated":
            out += [f"schedule {s}: newer version in the bucket: {v.describe()}; the next "
                    f"`backcourt backfill --season {s} --phase 2` loads it and re-arms the "
                    "dates it changes" for v in self.live if v not in self.in_use]
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        def one(v: ScheduleVersion) -> dict[str, Any]:
            return {"path": v.path, "generation": v.generation, "sha256": v.sha256,
                    "updated": v.updated.isoformat()}
        return {"state": self.state, "in_use": [one(v) for v in self.in_use],
                "live": [one(v) for v in self.live], "versions_kept": self.kept}


def schedule_state(bucket: Bucket, warehouse: Warehouse, season: str) -> ScheduleState:
    """The season's schedule: its files' versions and the version the warehouse holds."""
    files = schedule_files(bucket, season)
    if not files:
        return ScheduleState(season, "missing", (), (), 0)
    every = {f: versions(bucket, f) for f in files}
    by_tag = {v.tag: v for vs in every.values() for v in vs}
    live = tuple(v for vs in every.values() for v in vs if v.live)
    used = in_use(warehouse, season)
    if not used:
        return ScheduleState(season, "not_loaded", (), live, len(by_tag))
    in_use_v = tuple(by_tag.get(t) or _unknown(t) for t in used)
    state = "loaded" if sorted(v.tag for v in live) == used else "outdated"
    return ScheduleState(season, state, in_use_v, live, len(by_tag))


def _unknown(tag: str) -> ScheduleVersion:
    """A version in use that the bucket no longer keeps (hash unknown)."""
    path, _, gen = tag.partition("#")
    return ScheduleVersion(path, int(gen) if gen.isdigit() else 0,
                           datetime.fromtimestamp(0, UTC), "(not kept)", False)
