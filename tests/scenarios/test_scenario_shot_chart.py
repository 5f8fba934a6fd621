"""Scenarios b and e: one game's shot chart is missing on D, then the file arrives and the run
is forced.

b. The gate BLOCKs the shot chart on D naming the game; phase 3 (which reads no shot chart) is
   done on D; the phase-4 processors that read shot charts (team_defense_zone_analysis,
   player_shot_zone_analysis) are blocked ``lookback_incomplete`` on every later date whose
   lookback holds D, those built on them ``upstream_incomplete``, and player_daily_cache (which
   reads neither) is done everywhere — every requested phase runs despite the phase-2 BLOCK.
e. With the file back, ``force`` recomputes everything: the blocked dates end done.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import scenario_cases as sc
from scenario_kit import LocalDriver, same_as_local

pytestmark = pytest.mark.local


def test_missing_shot_chart_blocks_only_what_reads_it(
        make_home: Callable[..., Path], driver: Any, reference: dict[str, Any]) -> None:
    r = sc.shot_chart_missing(make_home, driver)
    sc.check_shot_chart_missing(r)
    same_as_local(reference, "shot_chart_missing", driver.name, r,
                  lambda: sc.shot_chart_missing(make_home, LocalDriver(), name="reference"))


def test_force_after_the_shot_chart_arrives_recomputes_the_blocked_dates(
        make_home: Callable[..., Path], driver: Any, reference: dict[str, Any]) -> None:
    r = sc.shot_chart_missing(make_home, driver, then_force=True)
    sc.check_shot_chart_missing(r.facts["before"])
    sc.check_forced_after_fix(r)
    same_as_local(reference, "forced_after_fix", driver.name, r,
                  lambda: sc.shot_chart_missing(make_home, LocalDriver(), name="reference",
                                                then_force=True))
