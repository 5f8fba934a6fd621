"""Scenario g: player_game_summary on D is held ``running`` by another worker's live lease when
phase 3 runs. The dates whose lookback reads it wait; their unit is redelivered and, on the last
delivery (``protocol.MAX_DELIVERIES``, Pub/Sub's dead-letter limit), they are blocked with the
wait as the reason — on both drivers, with the same states and reasons.

The ``functions`` driver delivers CloudEvents carrying ``deliveryAttempt``. In production the
work subscription POSTs the raw Pub/Sub push body to the ``process`` URL
(terraform/modules/work_topic), and functions-framework's conversion of that body to a CloudEvent
drops ``deliveryAttempt``: the raw-push variant below checks that ``process`` reads it from
the request body itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import scenario_cases as sc
from scenario_kit import FunctionsDriver, LocalDriver, same_as_local

pytestmark = pytest.mark.local


def test_waiting_dates_are_blocked_on_the_last_delivery(
        make_home: Callable[..., Path], driver: Any, reference: dict[str, Any]) -> None:
    r = sc.held_lease(make_home, driver)
    sc.check_held_lease(r)
    same_as_local(reference, "held_lease", driver.name, r,
                  lambda: sc.held_lease(make_home, LocalDriver(), name="reference"))


def test_raw_pubsub_push_blocks_on_the_last_delivery_too(
        make_home: Callable[..., Path], reference: dict[str, Any]) -> None:
    """The raw push body carries the count. Google's Pub/Sub reference (DeadLetterPolicy):
    "The number of delivery attempts is defined as 1 + (the sum of number of NACKs and number
    of times the acknowledgement deadline has been exceeded for the message) … If this parameter
    is 0, a default value of 5 is used"; the delivery attempt is set "if it comes from a
    subscription that has dead-letter queues enabled" (null otherwise). The waiting dates are
    blocked on delivery 5 only when ``process`` reads it from the body."""
    r = sc.held_lease(make_home, FunctionsDriver(envelope="push"))
    same_as_local(reference, "held_lease", "functions-push", r,
                  lambda: sc.held_lease(make_home, LocalDriver(), name="reference"))
    sc.check_held_lease(r)
