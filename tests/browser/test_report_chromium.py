"""The HTML status report rendered in headless Chromium (Debian's ``chromium``, installed by
``make browser``) and read back through the DOM: every heatmap cell's state against the status
store, distinct colours per state, the legend's highlighting and the click-for-reason panel, no
network request leaving the page. A full-page screenshot goes to ``test-artifacts/report.png``.

Driven with Playwright's Python package on the system chromium (``executable_path``; never
``playwright install``). Without chromium the test skips, and under ``CI=true`` it fails."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.registry import Phase
from backcourt.domain.status import State
from backcourt.ports import Services
from backcourt.services import html_report
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window
from backcourt.sources.layout import schedule_path

pytestmark = pytest.mark.local

SEASON = "2024-25"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "report.png"
FAILED_DAY, RUNNING_DAY = date(2024, 11, 12), date(2024, 11, 13)
FAILED_REASON = "terminal: the box score lists a player twice"


def _missing(what: str) -> None:
    """Fail under CI (the browser test must run there), skip elsewhere."""
    message = f"{what}: install chromium: make browser"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> str:
    """The system chromium's path, checked before anything is built."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The real 2024-25 schedule only, phases 2–3 over the whole season: the schedule
    succeeds, the other raw processors find no files (degraded), the gate blocks phase 3;
    then a failed and a running date through the status store."""
    s = build(load_settings(tmp_path_factory.mktemp("browser"), env={}))
    raw = resources.files("backcourt").joinpath("data", "nbacom-schedule-2024-25.json.gz")
    s.bucket.write(schedule_path(SEASON), gzip.decompress(raw.read_bytes()))
    Runner(s).backfill([SEASON], [Phase.RAW, Phase.ANALYTICS], Window())
    s.status.annotate("schedule", FAILED_DAY, State.FAILED, FAILED_REASON)
    s.status.mark_stale("schedule", [RUNNING_DAY])
    assert s.status.acquire("schedule", RUNNING_DAY, owner="host:1", run_id="r-live",
                            ttl=timedelta(minutes=5),
                            now=datetime.now(UTC)) is not None
    yield s
    s.close()


@pytest.fixture(scope="module")
def page(chromium: str, home: Services,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The report opened in headless chromium; ``page.requests`` lists every URL it loaded."""
    from playwright.sync_api import sync_playwright

    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(html_report.build_report(home, [SEASON]), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS, timeout=90_000)
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        requests: list[str] = []
        tab.on("request", lambda r: requests.append(r.url))
        tab.goto(path.as_uri(), wait_until="load", timeout=90_000)
        tab.requests = requests
        yield tab
        browser.close()


def _expected(home: Services, processor: str, day: date) -> set[str]:
    doc = home.status.get(processor, day)
    if doc is not None:
        return {doc.state.value}
    return {State.PENDING.value, State.NOT_EXPECTED.value}  # nothing stored: never planned


def test_heatmap_cells_in_the_dom_match_the_status_store(home: Services, page: Any) -> None:
    cells = page.eval_on_selector_all(
        ".grid i[data-processor]",
        "els => els.map(e => [e.dataset.processor, e.dataset.date, e.dataset.state])")
    got = {(p, d): s for p, d, s in cells}
    assert len(got) == len(cells), "a (processor, date) has two cells"
    days = sorted({date.fromisoformat(d) for _, d in got})
    assert days[0] == date(2024, 10, 4) and days[-1] == date(2025, 6, 22)  # preseason → finals
    assert len(days) == (days[-1] - days[0]).days + 1
    assert {p for p, _ in got} == {p.name for p in registry.PROCESSORS}
    wrong = [(p, d, s) for (p, d), s in got.items()
             if s not in _expected(home, p, date.fromisoformat(d))]
    assert not wrong, wrong[:5]
    assert got[("schedule", FAILED_DAY.isoformat())] == "failed"
    assert got[("schedule", RUNNING_DAY.isoformat())] == "running"
    assert {"succeeded", "degraded", "blocked", "not_expected"} <= set(got.values())


def test_each_state_has_its_own_colour(page: Any) -> None:
    colours = page.evaluate("""() => {
        const out = {};
        for (const s of ["succeeded", "degraded", "failed", "blocked", "not_expected"]) {
            const e = document.querySelector(`.grid i[data-state="${s}"]`);
            const r = e.getBoundingClientRect();
            out[s] = [getComputedStyle(e).backgroundColor, r.width, r.height];
        }
        return out; }""")
    assert all(w >= 8 and h >= 8 for _, w, h in colours.values()), colours
    assert len({c for c, _, _ in colours.values()}) == len(colours), colours


def test_legend_highlights_a_state_and_a_click_shows_the_reason(page: Any) -> None:
    page.click('.legend button[data-focus="failed"]')
    assert page.evaluate("document.body.dataset.focus") == "failed"
    dimmed = """([s, below]) => document.querySelectorAll(`.grid i[data-state="${s}"]`).length > 0
        && [...document.querySelectorAll(`.grid i[data-state="${s}"]`)].every(
            e => (parseFloat(getComputedStyle(e).opacity) < 0.5) === below)"""
    page.wait_for_function(dimmed, arg=["succeeded", True], timeout=5_000)  # after the fade
    page.wait_for_function(dimmed, arg=["failed", False], timeout=5_000)
    page.click('.legend button[data-focus="failed"]')  # toggles off
    assert page.evaluate("document.body.dataset.focus") is None
    page.click(f'.grid i[data-processor="schedule"][data-date="{FAILED_DAY.isoformat()}"]')
    detail = page.locator("#detail")
    assert detail.is_visible() and FAILED_REASON in detail.inner_text()


def test_totals_and_sections_render(page: Any) -> None:
    assert page.locator("#season-2024-25 .card[data-card]").count() == len(registry.PROCESSORS)
    assert page.locator("table.gate-history tbody tr[data-verdict=BLOCK]").count() > 0
    assert page.locator("table.runs tbody tr").count() >= 1
    assert "%" in page.inner_text("#total-share")


def test_page_loads_nothing_from_outside_and_screenshot(page: Any) -> None:
    assert page.requests and all(u.startswith(("file:", "data:")) for u in page.requests), \
        page.requests
    page.click("header.top h1")  # a click outside the squares closes the reason panel
    assert page.locator("#detail").is_hidden()
    ARTIFACT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACT), full_page=True)
    assert ARTIFACT.stat().st_size > 10_000
    print(f"report screenshot: {ARTIFACT}")
