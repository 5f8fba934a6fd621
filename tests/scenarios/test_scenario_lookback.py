"""Scenario d: a lookback hole — player_game_summary fails terminally on D (one unit per date).
Later dates whose lookback reads D are blocked ``lookback_incomplete`` (player_daily_cache,
upcoming_player_game_context), those built on them ``upstream_incomplete``, and what does not
read the hole runs: the same blocked set and the same reasons on both drivers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import scenario_cases as sc
from scenario_kit import LocalDriver, same_as_local

pytestmark = pytest.mark.local


def test_lookback_hole_blocks_the_same_dates_for_the_same_reasons(
        make_home: Callable[..., Path], driver: Any, reference: dict[str, Any]) -> None:
    r = sc.lookback_hole(make_home, driver)
    sc.check_lookback_hole(r)
    same_as_local(reference, "lookback_hole", driver.name, r,
                  lambda: sc.lookback_hole(make_home, LocalDriver(), name="reference"))
