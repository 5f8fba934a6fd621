"""Phases 2 → 6 on the embedded default over the first four weeks of the 2024-25 sample."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import jsonschema
import pytest

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.registry import Phase
from backcourt.domain.status import State, Verdict
from backcourt.ports import Services
from backcourt.services.backfill import BackfillResult, Runner
from backcourt.services.exports import KINDS, export_path, load_schema
from backcourt.services.plan import Window
from sample_cache import copy_season

pytestmark = [pytest.mark.local, pytest.mark.slow]

SEASON = "2024-25"
START, END = date(2024, 10, 22), date(2024, 11, 19)
WINDOW = Window(START, END)
PHASE4 = [p.name for p in registry.of_phase(Phase.PRECOMPUTE)]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, BackfillResult]]:
    settings = load_settings(tmp_path_factory.mktemp("chain"), env={})
    s = build(settings)
    copy_season(tmp_path_factory, SEASON, settings.local.bucket_path)
    result = Runner(s).backfill([SEASON], list(Phase), WINDOW)
    yield s, result
    s.close()


def _game_dates(s: Services) -> list[date]:
    rows = s.warehouse.query("SELECT DISTINCT game_date FROM nba_raw.schedule WHERE game_date "
                             "BETWEEN @s AND @e AND game_type = 'regular' ORDER BY 1",
                             {"s": START, "e": END})
    return [r["game_date"] for r in rows]


def test_every_phase_runs_and_no_gate_blocks(chain: tuple[Services, BackfillResult]) -> None:
    _, result = chain
    assert [p.phase for p in result.phases] == list(Phase)
    assert result.stopped_at is None
    for pr in result.phases:
        assert pr.units_run > 0, pr.phase
        blocked = [v for v in pr.verdicts.values() if v.verdict is Verdict.BLOCK]
        assert not blocked, (pr.phase, blocked[:2])


def test_bootstrap_dates_are_degraded_and_warned_not_failed(
        chain: tuple[Services, BackfillResult]) -> None:
    s, result = chain
    days = _game_dates(s)
    mlfs = registry.get("ml_feature_store")
    first, later = days[: mlfs.min_history_dates], days[mlfs.min_history_dates:]
    for d in first:
        st = s.status.get("ml_feature_store", d)
        assert st is not None and (st.state, st.reason) == (State.DEGRADED, "bootstrap")
    for d in later:
        st = s.status.get("ml_feature_store", d)
        assert st is not None and st.state is State.SUCCEEDED, st
    phase4 = next(p for p in result.phases if p.phase is Phase.PRECOMPUTE).verdicts
    assert {d for d, v in phase4.items() if v.verdict is Verdict.WARN} == set(first)
    assert all("bootstrap" in r for d in first for r in phase4[d].reasons)


def test_predictions_two_systems_with_reasons(chain: tuple[Services, BackfillResult]) -> None:
    s, _ = chain
    counts = s.warehouse.query(
        "SELECT p.game_date, COUNT(*) AS n, ANY_VALUE(f.cnt) AS features FROM "
        "nba_predictions.player_prop_predictions p JOIN (SELECT game_date, COUNT(*) AS cnt "
        "FROM nba_predictions.ml_feature_store GROUP BY 1) f USING (game_date) GROUP BY 1")
    assert counts and all(r["n"] == 2 * r["features"] for r in counts)
    bad = s.warehouse.query(
        "SELECT COUNT(*) AS n FROM nba_predictions.player_prop_predictions p "
        "JOIN nba_predictions.ml_feature_store f USING (game_date, player_lookup) "
        "WHERE (NOT p.is_actionable AND p.reason IS NULL) "
        "OR (p.recommendation = 'NO_LINE' AND p.points_line IS NOT NULL) "
        "OR (f.required_default_count > 0 AND p.is_actionable)")
    assert bad[0]["n"] == 0
    picks = s.warehouse.query(
        "SELECT system_id, COUNTIF(is_actionable) AS picks FROM "
        "nba_predictions.player_prop_predictions GROUP BY 1 ORDER BY 1")
    assert [r["system_id"] for r in picks] == ["gradient_boosting", "moving_average"]
    assert all(r["picks"] > 0 for r in picks)


def test_models_are_trained_walk_forward(chain: tuple[Services, BackfillResult]) -> None:
    s, _ = chain
    metas = [json.loads(s.bucket.read(p)) for p in s.bucket.list("models/gradient_boosting/")
             if p.endswith("metadata.json")]
    assert metas
    for meta in metas:
        cutoff = date.fromisoformat(meta["cutoff"])
        assert cutoff.weekday() == 0  # Mondays
        assert date.fromisoformat(meta["train_last_date"]) < cutoff
    used = s.warehouse.query(
        "SELECT game_date, model_version FROM nba_predictions.player_prop_predictions "
        "WHERE system_id = 'gradient_boosting' AND model_version IS NOT NULL")
    assert used and all(date.fromisoformat(r["model_version"]) <= r["game_date"] for r in used)


def test_exports_validate_and_reexport_byte_identical(
        chain: tuple[Services, BackfillResult]) -> None:
    s, _ = chain
    days = _game_dates(s)
    before = {}
    for kind in KINDS:
        schema = load_schema(kind)
        for d in days:
            data = s.bucket.read(export_path(kind, d))
            jsonschema.validate(json.loads(data), schema)
            before[(kind, d)] = data
    again = Runner(s).backfill([SEASON], [Phase.EXPORTS], WINDOW, force=True)
    assert again.phases[0].units_run > 0
    assert all(s.bucket.read(export_path(k, d)) == b for (k, d), b in before.items())


def test_phase4_on_a_date_with_incomplete_lookback_is_blocked(
        chain: tuple[Services, BackfillResult]) -> None:
    """Runs last: it damages one phase-3 date of the module's home."""
    s, _ = chain
    days = _game_dates(s)
    hole, target = days[10], days[12]
    s.status.annotate("player_game_summary", hole, State.DEGRADED, "gate: test hole")
    for name in PHASE4:
        s.status.mark_stale(name, [target])
    Runner(s).backfill([SEASON], [Phase.PRECOMPUTE], Window(target, target))
    # Readers of player_game_summary history are blocked, naming the hole …
    for name in ("player_shot_zone_analysis", "player_daily_cache"):
        st = s.status.get(name, target)
        assert st is not None and st.state is State.BLOCKED, st
        assert st.reason and st.reason.startswith("lookback_incomplete")
        assert f"player_game_summary {hole.isoformat()}" in st.reason
    # … the processors built on them that day are blocked as well …
    for name in ("player_composite_factors", "ml_feature_store"):
        st = s.status.get(name, target)
        assert st is not None and st.state is State.BLOCKED, st
        assert st.reason and st.reason.startswith("upstream_incomplete")
    # … and team defence, which does not read player history, runs.
    tdza = s.status.get("team_defense_zone_analysis", target)
    assert tdza is not None and tdza.state is State.SUCCEEDED
    assert target - hole < timedelta(days=30)
