"""Scenario f: team_offense_game_summary's write on D fails transiently twice, then succeeds
on a redelivery (one unit per date). Everything ends done; the failing date used three
attempts and every other date one — counted the same way by both drivers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import scenario_cases as sc
from scenario_kit import LocalDriver, same_as_local

pytestmark = pytest.mark.local


def test_transient_failure_succeeds_on_redelivery(
        make_home: Callable[..., Path], driver: Any, reference: dict[str, Any]) -> None:
    r = sc.transient(make_home, driver)
    sc.check_transient(r)
    same_as_local(reference, "transient", driver.name, r,
                  lambda: sc.transient(make_home, LocalDriver(), name="reference"))
