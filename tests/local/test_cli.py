"""The ``backcourt`` command line: bad arguments fail with a message naming what was wrong, and
the read commands (calendar, status, why, sql) report the real 2024-25 schedule correctly."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from backcourt import cli
from backcourt.adapters.local.bucket import FolderBucket
from backcourt.commands import common
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.sources.layout import schedule_path

pytestmark = pytest.mark.local

SEASON = "2024-25"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _real_schedule() -> bytes:
    """The real NBA.com 2024-25 scheduleLeagueV2 shipped with the package (decompressed)."""
    gz = resources.files("backcourt").joinpath("data", "nbacom-schedule-2024-25.json.gz")
    return gzip.decompress(gz.read_bytes())


def _flat(text: str) -> str:
    """Terminal output without colour codes and with every run of whitespace one space."""
    return " ".join(ANSI.sub("", text).split())


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the console-script entry point ``backcourt.cli.main`` in-process.

    Returns:
        (exit code, stdout, stderr) with plain text (no colour, no wrapping).
    """
    monkeypatch.setattr(sys, "argv", ["backcourt", *args])
    out_console = Console(width=10_000, color_system=None)
    err_console = Console(stderr=True, width=10_000, color_system=None)
    for module in (cli, common, *cli.COMMAND_MODULES):  # each binds the consoles it prints to
        monkeypatch.setattr(module, "console", out_console)
        if hasattr(module, "err"):
            monkeypatch.setattr(module, "err", err_console)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else (0 if code is None else 1)), out, err


@pytest.fixture(scope="module")
def schedule_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose bucket holds ONLY the real 2024-25 schedule, after a phase-2 backfill of
    the whole season: the schedule is loaded, the other raw processors find no files (their
    dates end degraded) and the gate BLOCKs every game date for its missing box scores, so the
    backfill exits ``EXIT_NOT_DONE`` (1), never 0."""
    home = tmp_path_factory.mktemp("cli-schedule")
    FolderBucket(load_settings(home, env={}).local.bucket_path).write(
        schedule_path(SEASON), _real_schedule())
    result = CliRunner().invoke(cli.app, ["--home", str(home), "backfill", "--season", SEASON,
                                          "--phase", "2"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == common.EXIT_NOT_DONE, result.output
    flat = _flat(result.output)
    assert "but the gate BLOCKed what they wrote" in flat, flat[-2000:]
    assert re.search(r"gate phase 2: BLOCK on \d+ date\(s\)", flat), flat[-2000:]
    assert "missing:" in flat and "needs 5 per team" in flat, flat[-2000:]
    return home


# -- bad arguments ---------------------------------------------------------------------------


def _exits_2_naming(args: list[str], needles: list[str], tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI on a fresh home exits 2, its error naming every needle, with no traceback."""
    code, out, err = run_main(["--home", str(tmp_path / "home"), *args], monkeypatch, capsys)
    assert code == 2, (out, err)
    message = _flat(err)
    for needle in needles:
        assert needle in message, message
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "needles"), [
    (["backfill", "--season", "2024-26"], ["bad season", "'2024-26'", "2024-25"]),
    (["backfill", "--season", SEASON, "--start", "2025-13-01"],
     ["bad --start", "'2025-13-01'", "YYYY-MM-DD"]),
    (["backfill", "--season", SEASON, "--start", "2025-01-20", "--end", "2025-01-10"],
     ["--start 2025-01-20 is after --end 2025-01-10"]),
    (["validate", "--phase", "9", "--season", SEASON],
     ["unknown phase '9'", "2, 3, 4, 5A, 5B, 6"]),
    (["backfill", "--season", SEASON, "--phase", "3B"],
     ["unknown phase '3B'", "2, 3, 4, 5A, 5B, 6"]),
    (["calendar", "--season", "2030-31"], ["no schedule loaded for 2030-31"]),
    (["backfill"], ["--season"]),
])
def test_bad_arguments_exit_2_naming_what_was_wrong(
        args: list[str], needles: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _exits_2_naming(args, needles, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize(("args", "needles"), [
    (["backfill", "--season", "9999-00"], ["bad season '9999-00'", "1946-47 to 2098-99"]),
    (["calendar", "--season", "1900-01"], ["bad season '1900-01'", "supported seasons"]),
    (["backfill", "--season", SEASON, "--start", "0001-01-01"],
     ["bad --start 0001-01-01", "outside the supported dates"]),
    (["backfill", "--season", SEASON, "--end", "9999-12-31"],
     ["bad --end 9999-12-31", "1946-07-01 to 2099-06-30"]),
    (["why", "player_game_summary", "0001-01-01"], ["0001-01-01", "supported dates"]),
])
def test_out_of_range_seasons_and_dates_exit_2_naming_the_range(
        args: list[str], needles: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 #5: ``9999-00`` passed the season-name check and crashed on
    ``date(10000, 6, 30)``; 0001-01-01 overflowed the first lookback taken from it."""
    _exits_2_naming(args, needles, tmp_path, monkeypatch, capsys)


def test_why_unknown_processor_lists_the_known_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["--home", str(tmp_path), "why", "nope", "2025-01-15"],
                            monkeypatch, capsys)
    message = _flat(err)
    assert code == 2
    assert "unknown processor 'nope'" in message
    for name in registry.BY_NAME:
        assert name in message, name


def test_console_script_exit_code_and_message_in_a_real_process(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "backcourt", "--home", str(tmp_path), "backfill",
         "--season", "2024-26"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "bad season '2024-26'" in _flat(proc.stderr)
    assert "Traceback" not in proc.stderr


def test_ingest_garbage_exits_non_zero_naming_the_file_and_keeps_the_good_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage-file.json"
    garbage.write_bytes(b"this is not JSON at all \x00\x01")
    good = tmp_path / "schedule.json"
    good.write_bytes(_real_schedule())
    home = tmp_path / "home"
    code, out, err = run_main(["--home", str(home), "ingest", str(garbage), str(good)],
                              monkeypatch, capsys)
    assert code == 2
    assert str(garbage) in _flat(err)
    assert str(good) not in _flat(err)
    # The readable file was still stored where phase 2 looks for it.
    bucket = FolderBucket(load_settings(home, env={}).local.bucket_path)
    assert bucket.read(schedule_path(SEASON)) == _real_schedule()
    assert schedule_path(SEASON) in _flat(out)


# -- read commands on the real 2024-25 schedule ---------------------------------------------


def test_calendar_json_types_every_date_of_the_real_2024_25_season(
        schedule_home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["--home", str(schedule_home), "calendar", "--season", SEASON,
                               "--json"], monkeypatch, capsys)
    assert code == 0, err
    doc = json.loads(ANSI.sub("", out))
    assert doc["season"] == SEASON
    counts = doc["counts"]
    # Real 2024-25: preseason Oct 4-18, regular season Oct 22 - Apr 13 with the NBA Cup final on
    # Dec 17, the All-Star weekend's two game days, play-in Apr 15/16/18, playoffs to Jun 22.
    assert {k: counts.get(k) for k in ("regular", "cup_final", "play_in", "playoffs",
                                       "all_star", "preseason")} == {
        "regular": 163, "cup_final": 1, "play_in": 3, "playoffs": 47, "all_star": 2,
        "preseason": 15}
    # Phase-3 processors run on competitive dates only: 163 + 1 + 3 + 47.
    assert doc["expected_dates"]["player_game_summary"] == 214
    # The schedule is expected on every date with a game: the 214 plus preseason and All-Star.
    assert doc["expected_dates"]["schedule"] == 214 + 15 + 2
    days = {d["date"]: d for d in doc["days"]}
    final = days["2024-12-17"]
    assert final["type"] == "cup_final"
    assert [{g["home"], g["away"]} for g in final["games"]] == [{"MIL", "OKC"}]
    opener = days["2024-10-22"]
    assert opener["type"] == "regular"
    assert {(g["away"], g["home"]) for g in opener["games"]} == {("NYK", "BOS"),
                                                                   ("MIN", "LAL")}


def test_status_json_parses_and_matches_what_a_schedule_only_bucket_can_give(
        schedule_home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["--home", str(schedule_home), "status", "--season", SEASON,
                               "--json"], monkeypatch, capsys)
    assert code == 0, err
    doc = json.loads(ANSI.sub("", out))
    cells = {c["processor"]: c for c in doc["cells"]}
    assert set(cells) == set(registry.BY_NAME)
    assert (cells["schedule"]["complete"], cells["schedule"]["expected"]) == (231, 231)
    # Nothing but the schedule is in the bucket: no box score date can be complete.
    assert (cells["player_boxscores"]["complete"], cells["player_boxscores"]["expected"]) == (
        0, 214)
    assert cells["player_boxscores"]["rows"] == 0
    assert cells["player_boxscores"]["failed"] + cells["player_boxscores"]["degraded"] == 214
    assert SEASON in doc["gates"]


def test_why_explains_a_cell_from_stored_facts(
        schedule_home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--home", str(schedule_home), "why", "player_boxscores",
                             "2024-12-17"], monkeypatch, capsys)
    text = _flat(out)
    assert code == 0
    assert "expected: 1 game(s)" in text
    assert re.search(r"state: (degraded|failed) after 1 attempt", text), text
    code, out, _ = run_main(["--home", str(schedule_home), "why", "player_boxscores",
                             "2025-02-16"], monkeypatch, capsys)
    text = _flat(out)
    assert code == 0
    assert "not expected" in text and "all_star" in text


def test_sql_prints_the_column_and_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["--home", str(tmp_path), "sql", "SELECT 1 AS x"],
                              monkeypatch, capsys)
    assert code == 0, err
    lines = [ln.strip(" │┃|") for ln in ANSI.sub("", out).splitlines()]
    assert "x" in [ln.strip() for ln in lines]
    assert "1" in [ln.strip() for ln in lines]
    assert "1 row(s)" in out
    code, out, err = run_main(["--home", str(tmp_path), "sql", "--json",
                               "SELECT 1 AS x, 'a' || 'b' AS y"], monkeypatch, capsys)
    assert code == 0, err
    assert json.loads(ANSI.sub("", out)) == [{"x": 1, "y": "ab"}]


def test_sql_error_is_a_clear_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["--home", str(tmp_path), "sql", "SELECT nope FROM nowhere.t"],
                            monkeypatch, capsys)
    assert code != 0
    assert "error:" in err and "Traceback" not in err


@pytest.mark.parametrize("statement, kind", [
    ("DROP TABLE nba_raw.schedule", "DROP"),
    ("DELETE FROM nba_raw.schedule WHERE TRUE", "DELETE"),
    ("CREATE TABLE nba_raw.t AS SELECT 1 AS x", "CREATE"),
    ("SELECT 1 AS x; DROP TABLE nba_raw.schedule", "DROP"),
    ("EXPLAIN ANALYZE DELETE FROM nba_raw.schedule WHERE TRUE", "DELETE"),
    ("COPY nba_raw.schedule TO '{tmp}/out.csv'", "COPY"),
])
def test_sql_refuses_a_statement_that_writes_without_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        statement: str, kind: str) -> None:
    """Issue 14 #8: ``sql "DROP TABLE nba_raw.schedule"`` printed ``0 row(s)``, exit 0, and the
    table was gone. Now: exit 2 naming the statement kind and --write; the table is kept."""
    import duckdb

    home = tmp_path / "home"
    path = load_settings(home, env={}).local.warehouse_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA nba_raw; CREATE TABLE nba_raw.schedule AS SELECT 1 AS x")
    code, out, err = run_main(["--home", str(home), "sql", statement.format(tmp=tmp_path)],
                              monkeypatch, capsys)
    text = _flat(err)
    assert code == 2, (out, err)
    assert f"refused a {kind} statement" in text and "--write" in text, text
    assert "row(s)" not in out
    code, out, _ = run_main(["--home", str(home), "sql", "--json",
                             "SELECT COUNT(*) AS n FROM nba_raw.schedule"], monkeypatch, capsys)
    assert code == 0 and json.loads(ANSI.sub("", out)) == [{"n": 1}]


def test_sql_reads_with_and_explain_and_writes_with_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    for statement in ("WITH a AS (SELECT 1 AS x) SELECT x FROM a",
                      "EXPLAIN SELECT 1 AS x", "(SELECT 1 AS x) UNION ALL (SELECT 2 AS x)"):
        code, out, err = run_main(["--home", str(home), "sql", statement], monkeypatch, capsys)
        assert code == 0, (statement, err)
    for setup in ("CREATE SCHEMA IF NOT EXISTS nba_raw",
                  "CREATE TABLE nba_raw.scratch AS SELECT 7 AS x"):
        code, _, err = run_main(["--home", str(home), "sql", "--write", setup], monkeypatch,
                                capsys)
        assert code == 0, err
    code, out, _ = run_main(["--home", str(home), "sql", "--json",
                             "SELECT x FROM nba_raw.scratch"], monkeypatch, capsys)
    assert code == 0 and json.loads(ANSI.sub("", out)) == [{"x": 7}]
    code, _, err = run_main(["--home", str(home), "sql", "--write", "DROP TABLE nba_raw.scratch"],
                            monkeypatch, capsys)
    assert code == 0, err
    code, _, err = run_main(["--home", str(home), "sql", "SELECT x FROM nba_raw.scratch"],
                            monkeypatch, capsys)
    assert code != 0 and "scratch" in _flat(err)
