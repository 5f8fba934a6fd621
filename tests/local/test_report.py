"""The HTML status report on a real embedded home: the 2024-25 sample backfilled through every
phase for the first week by the real Runner, then failed, blocked, degraded and running dates,
a BLOCK verdict and a run injected through the real status store API. The page is read back
with the standard library's HTML parser; the CLI and the ``status`` HTTP function serve it."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import functions_framework
import pytest
from flask.testing import FlaskClient
from typer.testing import CliRunner

from backcourt import cli
from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.errors import BadInput
from backcourt.domain.registry import Phase
from backcourt.domain.status import GateVerdict, RunRecord, State, Verdict
from backcourt.ports import Services
from backcourt.services import html_report
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window
from sample_cache import copy_season

pytestmark = [pytest.mark.local, pytest.mark.slow]

SEASON = "2024-25"
START, END = date(2024, 10, 22), date(2024, 10, 28)
SOURCE = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")
EVIL = "<script>alert('pwned')</script>"
FAILED_REASON = f"terminal: division by zero in the usage rate {EVIL}"
BLOCK_REASON = "player_boxscores: game 0022400061 NYK@BOS missing: NYK (0 rows)"


class Page(HTMLParser):
    """What the tests read from the page: heatmap cells, gate cells, table rows, links."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], dict[str, str]] = {}  # (processor, date) → attrs
        self.gate: dict[tuple[str, str], dict[str, str]] = {}  # (phase, date) → attrs
        self.rows: dict[str, list[dict[str, str]]] = {}  # table class → its rows' attrs
        self.urls: list[str] = []  # every href/src/action value
        self.scripts = 0
        self.legend: list[str] = []  # the legend's entries (states and verdicts)
        self.text: list[str] = []
        self._table: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.urls += [a[k] for k in ("href", "src", "action") if k in a]
        if tag == "button" and "data-focus" in a:
            self.legend.append(a["data-focus"])
        elif tag == "script":
            self.scripts += 1
        elif tag == "table":
            self._table = next((c for c in a.get("class", "").split() if c != "t"), None)
        elif tag == "tr" and self._table and len(a) > 0:
            self.rows.setdefault(self._table, []).append(a)
        elif tag == "i" and "data-processor" in a:
            key = (a["data-processor"], a["data-date"])
            assert key not in self.cells, f"two cells for {key}"
            self.cells[key] = a
        elif tag == "i" and "data-verdict" in a:
            self.gate[(a["data-phase"], a["data-date"])] = a

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Phases 2–6 over the first week, then states injected through the status store."""
    root = tmp_path_factory.mktemp("report")
    settings = load_settings(root, env={})
    s = build(settings)
    copy_season(tmp_path_factory, SEASON, settings.local.bucket_path)
    assert Runner(s).backfill([SEASON], list(Phase), Window(START, END)).stopped_at is None
    now = datetime(2024, 10, 29, 12, tzinfo=UTC)
    s.status.annotate("player_game_summary", START + timedelta(days=1), State.FAILED,
                      FAILED_REASON)
    s.status.annotate("team_boxscores", START + timedelta(days=2), State.BLOCKED,
                      "upstream gate: phase 2 BLOCK")
    s.status.annotate("exports", START + timedelta(days=3), State.DEGRADED, "shrink_refused")
    s.status.mark_stale("game_lines", [END])
    assert s.status.acquire("game_lines", END, owner="host:1", run_id="r-live",
                            ttl=timedelta(minutes=5), now=now) is not None
    s.status.record_verdict(GateVerdict("3", START + timedelta(days=4), Verdict.BLOCK,
                                        (BLOCK_REASON, f"note {EVIL}"), run_id="r-evil",
                                        decided_at=now))
    s.status.record_run(RunRecord("r-evil", "backfill", now - timedelta(seconds=95),
                                  f"ops {EVIL}", "seasons=2024-25", state="failed",
                                  finished_at=now))
    yield s
    s.close()


@pytest.fixture(scope="module")
def html(home: Services) -> str:
    return html_report.build_report(home, [SEASON])


def _calendar_days(home: Services) -> list[date]:
    """First to last scheduled (not postponed) game date, straight from the schedule table."""
    got = home.warehouse.query("SELECT MIN(game_date) AS a, MAX(game_date) AS b "
                               "FROM nba_raw.schedule WHERE season = @s AND NOT postponed",
                               {"s": SEASON})[0]
    return [got["a"] + timedelta(days=i) for i in range((got["b"] - got["a"]).days + 1)]


def test_every_cell_shows_the_status_store_state(home: Services, html: str) -> None:
    page = parse(html)
    days = _calendar_days(home)
    assert set(page.cells) == {(p.name, d.isoformat()) for p in registry.PROCESSORS
                               for d in days}
    seen: set[str] = set()
    for (proc, day), cell in page.cells.items():
        doc = home.status.get(proc, date.fromisoformat(day))
        if doc is None:  # nothing stored: the processor was never planned for the date
            assert cell["data-state"] in (State.PENDING.value, State.NOT_EXPECTED.value)
        else:
            assert cell["data-state"] == doc.state.value, (proc, day)
        seen.add(cell["data-state"])
    assert {"succeeded", "degraded", "failed", "blocked", "running"} <= seen
    assert {s.value for s in State} | {v.value for v in Verdict} == set(page.legend)


def test_reasons_are_in_the_tooltips_and_the_gate_history(html: str) -> None:
    page = parse(html)
    failed = page.cells[("player_game_summary", (START + timedelta(days=1)).isoformat())]
    assert "failed" in failed["title"] and FAILED_REASON in failed["title"]
    blocked = page.cells[("team_boxscores", (START + timedelta(days=2)).isoformat())]
    assert "upstream gate: phase 2 BLOCK" in blocked["title"]
    assert "shrink_refused" in page.cells[("exports", (START + timedelta(days=3)).isoformat())][
        "title"]
    gate = page.gate[("3", (START + timedelta(days=4)).isoformat())]
    assert gate["data-verdict"] == "BLOCK" and BLOCK_REASON in gate["title"]
    history = page.rows["gate-history"]
    assert any(r["data-verdict"] == "BLOCK" and r["data-phase"] == "3" for r in history)
    # phase verdicts only: the per-processor checks readiness reads stay out of the history
    assert {r["data-phase"] for r in history} <= {p.value for p in Phase}
    assert BLOCK_REASON in "".join(page.text)


def test_runs_are_listed_with_duration(home: Services, html: str) -> None:
    page = parse(html)
    listed = [r["data-run"] for r in page.rows["runs"]]
    assert listed == [r.run_id for r in home.status.runs(html_report.MAX_RUNS)]
    assert "r-evil" in listed and any(r.command == "backfill" and r.run_id != "r-evil"
                                      for r in home.status.runs())
    assert "1 min 35 s" in "".join(page.text)  # r-evil ran 95 seconds


def test_quality_table_matches_the_graded_rows(home: Services, html: str) -> None:
    page = parse(html)
    systems = {r["data-system"] for r in page.rows["quality"]}
    got = home.warehouse.query(
        "SELECT system_id, COUNT(*) AS n, AVG(IF(is_voided, NULL, absolute_error)) AS mae, "
        "SUM(IF(NOT is_voided AND recommendation IN ('OVER', 'UNDER'), 1, 0)) AS picks "
        "FROM nba_predictions.prediction_accuracy GROUP BY 1")
    assert systems == {r["system_id"] for r in got} and len(systems) >= 1
    text = " ".join(" ".join(page.text).split())
    for r in got:
        mae = "–" if r["mae"] is None else f"{r['mae']:.2f}"
        assert re.search(rf"{r['system_id']} {r['n']:,} \d[\d,]* {re.escape(mae)} ", text), r


def test_page_is_self_contained_and_escaped(html: str) -> None:
    page = parse(html)
    assert all(u.startswith("#") for u in page.urls), page.urls
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(", html)
    assert "<link" not in html and page.scripts == 1  # only the page's own inline script
    assert EVIL not in html
    assert "&lt;script&gt;alert(" in html


def test_cli_writes_the_report(home: Services, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "report.html"
    result = CliRunner().invoke(cli.app, ["--home", str(home.settings.local.home), "report",
                                          "--season", SEASON, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and str(out.name) in result.output
    cells = parse(out.read_text(encoding="utf-8")).cells
    assert len(cells) == len(registry.PROCESSORS) * len(_calendar_days(home))


def test_cli_rejects_a_bad_season(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["--home", str(tmp_path), "report", "--season",
                                          "2024-26", "--out", str(tmp_path / "r.html")])
    assert isinstance(result.exception, BadInput) and "2024-26" in str(result.exception)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(("values", "expected"), [
    (["2024-25"], ["2024-25"]),
    (["2024-25,2023-24", "2024-25"], ["2024-25", "2023-24"]),
    ([" 2022-23 , "], ["2022-23"]),
])
def test_parse_seasons(values: list[str], expected: list[str]) -> None:
    assert html_report.parse_seasons(values) == expected


@pytest.mark.parametrize("values", [[], [""], ["2024-26"], ["2024"], ["2024-25,x"]])
def test_parse_seasons_rejects(values: list[str]) -> None:
    with pytest.raises(BadInput):
        html_report.parse_seasons(values)


# -- the status HTTP function -------------------------------------------------------------------


def _client() -> FlaskClient:
    return functions_framework.create_app("status", source=SOURCE,
                                          signature_type="http").test_client()


@pytest.fixture
def function(home: Services) -> Iterator[FlaskClient]:
    """The ``status`` function over the module's home (main.set_services)."""
    client = _client()
    main: ModuleType = next(m for m in list(sys.modules.values())
                            if getattr(m, "__file__", None) == SOURCE)
    main.set_services(home)
    yield client
    main.set_services(None)


def test_status_function_serves_the_page(home: Services, function: FlaskClient) -> None:
    reply = function.get("/", query_string=[("season", SEASON)])
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    page = parse(reply.get_data(as_text=True))
    assert len(page.cells) == len(registry.PROCESSORS) * len(_calendar_days(home))
    failed = page.cells[("player_game_summary", (START + timedelta(days=1)).isoformat())]
    assert failed["data-state"] == "failed"


def test_status_function_takes_repeated_and_comma_separated_seasons(
        function: FlaskClient) -> None:
    reply = function.get("/?season=2024-25,2023-24&season=2022-23")
    assert reply.status_code == 200
    body = reply.get_data(as_text=True)
    for season in ("2024-25", "2023-24", "2022-23"):
        assert f'id="season-{season}"' in body
    assert "No schedule loaded for 2023-24" in body


@pytest.mark.parametrize(("query", "needle"), [
    ("?season=2024-26", "bad season '2024-26'"),
    ("", "give at least one season"),
    ("?season=", "give at least one season"),
])
def test_status_function_bad_season_is_400(function: FlaskClient, query: str,
                                           needle: str) -> None:
    reply = function.get("/" + query)
    assert reply.status_code == 400
    assert needle in reply.get_json()["error"]


def test_status_function_is_get_only(function: FlaskClient) -> None:
    assert function.post("/?season=2024-25").status_code == 405
