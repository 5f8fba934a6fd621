"""Issue 13, finding 3: one setting keeps the lease TTL below the ``process`` function's timeout.

Google's Cloud Run functions docs (https://cloud.google.com/functions/docs/configuring/timeout):
event-driven functions run at most 540 s ("For event-driven functions, the maximum timeout
duration is 9 minutes"). A lease longer than that protects a worker that is already dead.
Terraform sets ``BACKCOURT_LEASE_TTL_S`` (and ``BACKCOURT_FUNCTION_TIMEOUT_S``) from the
function's timeout; the settings refuse a lease that is not below it.
"""

from __future__ import annotations

import pytest

from backcourt.config import Settings, load_settings
from backcourt.domain.errors import BadInput

EVENT_FUNCTION_MAX_TIMEOUT_S = 540


def test_the_default_lease_is_below_an_event_functions_longest_timeout() -> None:
    assert Settings().lease_ttl_s < EVENT_FUNCTION_MAX_TIMEOUT_S
    assert load_settings(env={}).lease_ttl_s == Settings().lease_ttl_s
    assert load_settings(env={}).function_timeout_s == 0  # not serving a function


def test_a_lease_not_below_the_function_timeout_is_refused() -> None:
    env = {"BACKCOURT_FUNCTION_TIMEOUT_S": "540", "BACKCOURT_LEASE_TTL_S": "900"}
    with pytest.raises(BadInput, match="below the function timeout"):
        load_settings(env=env)
    with pytest.raises(BadInput, match="below the function timeout"):
        load_settings(env={**env, "BACKCOURT_LEASE_TTL_S": "540"})
    ok = load_settings(env={**env, "BACKCOURT_LEASE_TTL_S": "480"})
    assert (ok.lease_ttl_s, ok.function_timeout_s) == (480, 540)
    with pytest.raises(BadInput):
        load_settings(env={"BACKCOURT_LEASE_TTL_S": "0"})
