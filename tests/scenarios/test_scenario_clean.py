"""Scenario a: a clean window, phases 2 → 6 on the first six game dates of 2024-25.

Every expected (processor, date) ends done, the phase verdicts are PASS (phase 4 WARN: its dates
are bootstrap dates), and both drivers leave the same states, verdicts and warehouse rows
(row counts per table and date, and every row of player_game_summary).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import scenario_cases as sc
from scenario_kit import LocalDriver, same_as_local

pytestmark = pytest.mark.local


def test_clean_window_phases_2_to_6(make_home: Callable[..., Path], driver: Any,
                                    reference: dict[str, Any]) -> None:
    r = sc.clean(make_home, driver)
    sc.check_clean(r)
    same_as_local(reference, "clean", driver.name, r,
                  lambda: sc.clean(make_home, LocalDriver(), name="reference"))
