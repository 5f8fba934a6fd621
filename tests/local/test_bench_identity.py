"""The bench's identity check (``bench/fingerprint.py``) on small real homes: one week of the
2024-25 sample backfilled through phases 2 → 6 twice, into two homes whose raw files were
written at different times (so every schedule row's ``source_file`` ends with another object
generation). The two fingerprints must match, and the check must fail on a changed row, a
changed export, a missing file and an extra model file — it is only worth something if it can
fail. No timings."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain.registry import Phase
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window
from bench_modules import bench_module
from sample_cache import cached_season

pytestmark = [pytest.mark.local]

REPO = Path(__file__).resolve().parents[2]
SEASON = "2024-25"
END = date(2024, 10, 28)
WEEK = Window(date(2024, 10, 22), END)


@pytest.fixture(scope="module")
def fp() -> Iterator[ModuleType]:
    with bench_module("fingerprint") as module:
        yield module


def _after_the_week(folder: str, names: list[str]) -> list[str]:
    """copytree's ignore: the raw date folders after the week (phase 2 reads none of them)."""
    return [n for n in names if len(n) == 10 and n[4] == "-" and n > END.isoformat()]


def _home(raw: Path, home: Path) -> Path:
    """A home over a fresh copy of the week's raw files (new write times: new generations), the
    week backfilled through every phase."""
    shutil.copytree(raw, load_settings(home, env={}).local.bucket_path, ignore=_after_the_week,
                    copy_function=shutil.copy)  # not copy2: the files get new mtimes
    s = build(load_settings(home, env={}))
    try:
        result = Runner(s).backfill([SEASON], list(Phase), WEEK)
        assert result.stopped_at is None
    finally:
        s.close()
    return home


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    raw = cached_season(tmp_path_factory, SEASON)  # read only: _home copies from it
    first = _home(raw, tmp_path_factory.mktemp("first"))
    second = _home(raw, tmp_path_factory.mktemp("second"))
    return first, second


def test_two_backfills_of_the_same_week_have_the_same_fingerprint(
        fp: ModuleType, homes: tuple[Path, Path]) -> None:
    first, second = (fp.fingerprint(h, [SEASON]) for h in homes)
    with duckdb.connect(str(homes[1] / "warehouse.duckdb"), read_only=True) as con:
        sources = {r[0] for r in con.execute("SELECT source_file FROM nba_raw.schedule").fetchall()}
    assert all("#" in s for s in sources)  # the generation the normalisation strips
    ident = fp.compare(first, second)
    assert ident.all_ok, ident.notes
    assert ident.rows > 0 and ident.files["exports"] > 0
    assert ident.line().startswith(f"identity: rows OK ({len(first.tables)} tables, "
                                   f"{first.rows} rows), exports OK")
    assert fp.Fingerprint.from_json(first.to_json()) == first


def test_a_changed_row_is_found_and_a_float_below_the_rounding_is_not(
        fp: ModuleType, homes: tuple[Path, Path], tmp_path: Path) -> None:
    reference = fp.fingerprint(homes[0], [SEASON])
    home = tmp_path / "home"
    shutil.copytree(homes[1], home)
    table = "nba_analytics.player_game_summary"
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(f"UPDATE {table} SET minutes_played = minutes_played + 1e-9 WHERE "
                    "minutes_played IS NOT NULL")
    assert fp.compare(reference, fp.fingerprint(home, [SEASON])).all_ok
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(f"UPDATE {table} SET points = points + 1 WHERE rowid = "
                    f"(SELECT min(rowid) FROM {table} WHERE points IS NOT NULL)")
    ident = fp.compare(reference, fp.fingerprint(home, [SEASON]))
    assert ident.tables_differ == [table]
    assert not any(ident.files_differ.values())
    assert f"rows DIFFER in 1 of {ident.tables} tables ({table})" in ident.line()


def test_a_changed_export_a_missing_file_and_an_extra_model_are_found(
        fp: ModuleType, homes: tuple[Path, Path], tmp_path: Path) -> None:
    reference = fp.fingerprint(homes[0], [SEASON])
    home = tmp_path / "home"
    shutil.copytree(homes[1], home)
    exports = sorted((home / "bucket" / "exports").rglob("*.json"))
    changed, missing = exports[0], exports[-1]
    changed.write_bytes(changed.read_bytes().replace(b"}", b" }", 1))
    missing.unlink()
    extra = home / "bucket" / "models" / "gradient_boosting" / "2024-10-28" / "model.txt"
    extra.parent.mkdir(parents=True)
    extra.write_text("tree\n")
    ident = fp.compare(reference, fp.fingerprint(home, [SEASON]))
    bucket = home / "bucket"
    assert ident.rows_ok
    assert ident.files_differ["exports"] == sorted(
        p.relative_to(bucket).as_posix() for p in (changed, missing))
    assert ident.files_differ["models"] == [extra.relative_to(bucket).as_posix()]
    assert not ident.all_ok
    line = ident.line()
    assert "exports DIFFER (2 of" in line and "models DIFFER (1 of 1 files" in line
    assert any(n.endswith(": missing") for n in ident.notes)
    assert any(n.endswith(": extra") for n in ident.notes)


def test_changed_models_pass_only_with_the_tables_before_them_and_quality_within_0_01(
        fp: ModuleType) -> None:
    def home(schedule: str, predictions: str, model: str, mae: float, hit: float) -> Any:
        return fp.Fingerprint(
            tables={"nba_raw.schedule": {"rows": 5, "sha256": schedule},
                    "nba_predictions.player_prop_predictions": {"rows": 9, "sha256": predictions}},
            files={"exports": {"exports/v1/x.json": predictions}, "models": {"m/model.txt": model}},
            quality={"gradient_boosting": {"mae": mae, "hit_rate": hit},
                     "moving_average": {"mae": 4.444, "hit_rate": 0.5377}})

    reference = home("s", "p", "m", 4.327, 0.5996)
    retrained = home("s", "p2", "m2", 4.335, 0.5921)
    ident = fp.compare(reference, retrained)
    assert not ident.all_ok and not ident.ok("models")
    assert ident.models_changed_ok(fp.quality_within(reference, retrained))
    worse = home("s", "p2", "m2", 4.345, 0.5996)  # MAE 0.018 worse
    assert fp.quality_within(reference, worse) == ["gradient_boosting mae 4.345 vs 4.327"]
    assert not fp.compare(reference, worse).models_changed_ok(fp.quality_within(reference, worse))
    upstream = home("s2", "p2", "m2", 4.327, 0.5996)  # a phase-2 table changed too
    assert not fp.compare(reference, upstream).models_changed_ok(
        fp.quality_within(reference, upstream))
