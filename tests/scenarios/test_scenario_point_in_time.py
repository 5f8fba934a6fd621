"""Scenario c: the point-in-time sources (props, lines, injury report) of D are missing. They
cannot be backfilled: the gate WARNs for them on D, nothing is blocked, and every phase-2/3/4
date ends done — on both drivers, with the same states and verdicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import scenario_cases as sc
from scenario_kit import LocalDriver, same_as_local

pytestmark = pytest.mark.local


def test_missing_point_in_time_sources_warn_and_block_nothing(
        make_home: Callable[..., Path], driver: Any, reference: dict[str, Any]) -> None:
    r = sc.point_in_time_missing(make_home, driver)
    sc.check_point_in_time_missing(r)
    same_as_local(reference, "point_in_time_missing", driver.name, r,
                  lambda: sc.point_in_time_missing(make_home, LocalDriver(), name="reference"))
