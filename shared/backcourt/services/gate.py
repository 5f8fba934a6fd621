"""The gate: validate(phase, dates) measures the warehouse itself against the schedule and
returns PASS / WARN / BLOCK per game date (LESSONS R1, R10). It never trusts a processor's own
"success", persists every verdict before anything moves on, and fails closed: a validator
that errors yields BLOCK. Besides row counts, keys and teams, the reconciliation checks of
``gate.toml`` (``[checks.*]``: box-score points, final scores, minutes, made ≤ attempted) are
measured as warehouse SQL (``services.reconciliation``); a failure BLOCKs the date naming the
check and its version, the game and the numbers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from backcourt.domain.calendar import ScheduledGame, SeasonCalendar
from backcourt.domain.registry import BY_NAME, Expectation, Phase, Processor, of_phase
from backcourt.domain.status import DONE, GateVerdict, PartitionStatus, State, Verdict
from backcourt.domain.thresholds import Thresholds
from backcourt.ports import Clock, StatusStore, Warehouse
from backcourt.services import reconciliation
from backcourt.services.lookback import bootstrap_dates

log = logging.getLogger(__name__)

VALIDATOR_ERROR = "validator error"
"""How a verdict that failed closed starts: the measurement failed, not the data."""


@dataclass
class Check:
    """One processor on one date: measured against what the schedule says must exist."""

    processor: str
    game_date: date
    expected: int | None
    actual: int
    duplicates: int = 0
    null_keys: int = 0
    problems: list[str] = field(default_factory=list)
    level: Verdict = Verdict.PASS
    checks: list[str] = field(default_factory=list)  # reconciliation checks run, "name vN"

    def as_metrics(self) -> dict[str, Any]:
        """JSON-able summary stored with the verdict."""
        return {"expected": self.expected, "actual": self.actual, "duplicates": self.duplicates,
                "null_keys": self.null_keys, "level": self.level.value,
                "problems": self.problems, "checks": self.checks}


def _key_stats(wh: Warehouse, proc: Processor, start: date, end: date) -> dict[date, tuple[int,
                                                                                   int, int]]:
    keys = [k for k in proc.table.key if k != "game_date"]
    key_list = ", ".join(keys)
    nulls = " OR ".join(f"{k} IS NULL" for k in keys) or "FALSE"
    rows = wh.query(
        f"SELECT game_date, SUM(c) AS n, SUM(c - 1) AS dups, SUM(nk) AS null_keys FROM ("
        f"SELECT game_date, {key_list}, COUNT(*) AS c, COUNTIF({nulls}) AS nk "
        f"FROM {proc.table.fqn} WHERE game_date BETWEEN @s AND @e "
        f"GROUP BY game_date, {key_list}) GROUP BY game_date",
        {"s": start, "e": end},
    )
    return {r["game_date"]: (int(r["n"]), int(r["dups"]), int(r["null_keys"])) for r in rows}


def _teams(wh: Warehouse, table: str, column: str, start: date, end: date,
           ) -> dict[date, dict[str, int]]:
    rows = wh.query(
        f"SELECT game_date, {column} AS team, COUNT(*) AS n FROM {table} "
        "WHERE game_date BETWEEN @s AND @e GROUP BY game_date, team",
        {"s": start, "e": end},
    )
    out: dict[date, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["game_date"], {})[r["team"]] = int(r["n"])
    return out


def _missing_teams(games: Sequence[ScheduledGame], teams: dict[str, int], minimum: int,
                   ) -> list[str]:
    """One problem per game whose teams lack rows, naming the game and the teams."""
    problems = []
    for g in games:
        short = [f"{t} ({teams.get(t, 0)} row{'s' if teams.get(t, 0) != 1 else ''})"
                 for t in (g.away, g.home) if teams.get(t, 0) < minimum]
        if short:
            need = f"; needs {minimum} per team" if minimum > 1 else ""
            problems.append(f"game {g.nba_game_id} {g.away}@{g.home} missing: "
                            f"{', '.join(short)}{need}")
    return problems


class Gate:
    """Measures processors over calendar dates and persists the verdicts: one per (processor,
    date) measured (what readiness reads), and for :meth:`validate` one per (phase, date), the
    summary of its processors (what the workflow, status and report show)."""

    def __init__(self, warehouse: Warehouse, store: StatusStore, thresholds: Thresholds,
                 clock: Clock | None = None) -> None:
        self.wh = warehouse
        self.store = store
        self.t = thresholds
        self.clock = clock

    def _now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    def check(self, procs: Sequence[Processor], cals: Sequence[SeasonCalendar],
              days: Sequence[date], run_id: str | None = None) -> dict[date, list[Check]]:
        """Measure ``procs`` on their expected dates among ``days`` and persist one verdict per
        (processor, date); a validator error is BLOCK for every one of them (fail closed)."""
        if not days:
            return {}
        try:
            checks = self.measure_processors(procs, cals, days)
        except Exception as exc:  # fail closed
            log.exception("validator error for %s", ", ".join(p.name for p in procs))
            reason = f"{VALIDATOR_ERROR}: {type(exc).__name__}: {exc}"
            checks = {}
            for proc in procs:
                for d in _expected(proc, cals, days):
                    checks.setdefault(d, []).append(Check(proc.name, d, None, 0,
                                                          problems=[reason],
                                                          level=Verdict.BLOCK))
        now = self._now()
        self.store.record_verdicts([
            GateVerdict(c.processor, d, c.level, tuple(c.problems), c.as_metrics(), run_id, now)
            for d in sorted(checks) for c in checks[d]])
        _annotate(self.store, checks)
        return checks

    def _reusing(self, procs: Sequence[Processor], cals: Sequence[SeasonCalendar],
                 days: Sequence[date], run_id: str | None,
                 measured: dict[date, list[Check]]) -> dict[date, list[Check]]:
        """:meth:`check` of ``procs`` over ``days``, except the (processor, date)s ``measured``
        holds; each date's checks in ``procs`` order, as :meth:`check` gives them."""
        have = {(c.processor, d): c for d, found in measured.items() for c in found
                if not _failed_closed(c)}  # a validator outage: measure again
        missing = {d for p in procs for d in _expected(p, cals, days) if (p.name, d) not in have}
        todo = [p for p in procs if any((p.name, d) not in have for d in _expected(p, cals, days))]
        fresh = self.check(todo, cals, sorted(missing), run_id) if todo else {}
        got = {(c.processor, d): c for d, found in fresh.items() for c in found}
        out: dict[date, list[Check]] = {}
        for proc in procs:
            for d in _expected(proc, cals, days):
                check = got.get((proc.name, d)) or have.get((proc.name, d))
                if check is not None:
                    out.setdefault(d, []).append(check)
        return out

    def catch_up(self, procs: Sequence[Processor], cals: Sequence[SeasonCalendar],
                 days: Sequence[date], run_id: str | None = None) -> int:
        """Measure the done dates among ``days`` that have no verdict since their last write, or
        only one that failed closed (a validator error): readiness reads verdicts, so a date
        must never stay unmeasured, or blocked by an outage of the validator. Returns how many
        (processor, date)s were measured."""
        measured = 0
        for proc, todo in unmeasured(self.store, procs, cals, days).items():
            self.check([proc], cals, todo, run_id)
            measured += len(todo)
        return measured

    def validate(self, phase: Phase, cals: Sequence[SeasonCalendar], days: Sequence[date],
                 run_id: str | None = None,
                 procs: Sequence[Processor] | None = None,
                 measured: dict[date, list[Check]] | None = None) -> dict[date, GateVerdict]:
        """Measure every processor of the phase (or ``procs`` of it), decide each date (the
        worst of its processors), persist everything; a validator error is BLOCK.

        ``measured``: checks this caller's :meth:`check` returned after the last write of what
        they measured (the local runner's waves of this phase), already persisted: they are
        used as they are, and only the (processor, date)s without one are measured."""
        if not days:
            return {}
        chosen = procs if procs is not None else of_phase(phase)
        checks = self._reusing(chosen, cals, days, run_id, measured or {})
        now = self._now()
        verdicts = {d: self._decide(phase, d, checks.get(d, []), run_id, now) for d in days}
        self.store.record_verdicts(list(verdicts.values()))
        return verdicts

    def measure(self, phase: Phase, cals: Sequence[SeasonCalendar], days: Sequence[date],
                ) -> dict[date, list[Check]]:
        """Every processor of the phase on every expected date among ``days``."""
        return self.measure_processors(of_phase(phase), cals, days)

    def measure_processors(self, procs: Sequence[Processor], cals: Sequence[SeasonCalendar],
                           days: Sequence[date]) -> dict[date, list[Check]]:
        """These processors on their expected dates among ``days`` (nothing is persisted)."""
        start, end = min(days), max(days)
        games = {d.game_date: [g for g in d.games if g.is_final]
                 for cal in cals for d in cal.days}
        box = (_teams(self.wh, "nba_raw.player_boxscores", "team_abbr", start, end)
               if any(p.expectation is Expectation.PLAYERS_IN_BOX for p in procs) else {})
        recon = self._reconcile(procs, start, end)
        out: dict[date, list[Check]] = {}
        for proc in procs:
            wanted = _expected(proc, cals, days)
            if not wanted:
                continue
            stats = _key_stats(self.wh, proc, start, end)
            upstream = (_key_stats(self.wh, BY_NAME[proc.expect_from], start, end)
                        if proc.expect_from else {})
            boot = set(bootstrap_dates(proc, cals))
            teams = (_teams(self.wh, proc.table.fqn, proc.team_column, start, end)
                     if proc.expectation is Expectation.TEAMS_PER_GAME else {})
            failed = {st.game_date: f"{st.state.value}: "
                      + (st.error or st.reason or "no reason recorded")
                      for st in self.store.list([proc.name], start, end)
                      if st.state in (State.FAILED, State.BLOCKED)}
            for d in wanted:
                check = self._check(proc, d, stats.get(d, (0, 0, 0)), games.get(d, []),
                                    teams.get(d, {}), box.get(d, {}),
                                    upstream.get(d, (0, 0, 0))[0])
                check.checks = [c.label for c in self.t.checks_of(proc.name)]
                if recon.get(proc.name, {}).get(d):  # named, versioned checks in gate.toml
                    check.problems += recon[proc.name][d]
                    check.level = Verdict.BLOCK
                if d in boot and check.level is Verdict.PASS:
                    check.problems.append(f"bootstrap: among the first {proc.min_history_dates}"
                                          " game dates of the season (defaults in features)")
                    check.level = Verdict.WARN
                if d in failed:  # the warehouse may hold older rows; the latest run did not
                    check.problems[:] = [failed[d]]
                    check.level = Verdict.BLOCK
                out.setdefault(d, []).append(check)
        return out

    def _reconcile(self, procs: Sequence[Processor], start: date, end: date,
                   ) -> dict[str, dict[date, list[str]]]:
        """Per processor and date, the problems of the reconciliation checks that go on its
        verdict (``[checks.*]`` of gate.toml, measured by ``services.reconciliation``)."""
        names = {p.name for p in procs}
        specs = [c for c in self.t.checks.values() if names & set(c.processors)]
        if not specs:
            return {}
        found = reconciliation.measure(self.wh, specs, start, end)
        out: dict[str, dict[date, list[str]]] = {}
        for spec in specs:
            for d, problem in found[spec.name]:
                for proc in names & set(spec.processors):
                    out.setdefault(proc, {}).setdefault(d, []).append(problem)
        return out

    def _check(self, proc: Processor, d: date, stat: tuple[int, int, int],
               games: list[ScheduledGame], teams: dict[str, int], box: dict[str, int],
               upstream_rows: int) -> Check:
        actual, dups, nulls = stat
        check = Check(proc.name, d, None, actual, dups, nulls)
        exp = proc.expectation
        if exp is Expectation.SCHEDULE_GAMES:
            check.expected = len(games) if games else None
        elif exp is Expectation.TEAMS_PER_GAME:
            check.expected = 2 * len(games)
            check.problems += _missing_teams(games, teams, 1)
        elif exp is Expectation.PLAYERS_IN_BOX:
            check.expected = sum(box.values())
            check.problems += _missing_teams(games, box, self.t.min_players_per_team)
        elif exp is Expectation.UPSTREAM_ROWS:
            check.expected = proc.expect_factor * upstream_rows
        elif exp is Expectation.FIXED:
            check.expected = proc.expect_factor
        check.level = self._level(check, exp, len(games))
        return check

    def _level(self, c: Check, exp: Expectation, n_games: int) -> Verdict:
        if c.duplicates > self.t.max_duplicate_keys:
            c.problems.append(f"{c.duplicates} duplicate key(s)")
        if c.actual and c.null_keys / c.actual > self.t.max_key_null_rate:
            c.problems.append(f"{c.null_keys} row(s) with a NULL key column")
        if exp is Expectation.BEST_EFFORT:
            if c.actual == 0 and n_games:
                c.problems.append("no rows (point-in-time source; cannot be backfilled)")
                return Verdict.WARN
            return Verdict.BLOCK if c.duplicates or c.null_keys else Verdict.PASS
        ratio = 1.0 if not c.expected else c.actual / c.expected
        if c.expected and ratio < self.t.pass_ratio:
            c.problems.append(f"{c.actual}/{c.expected} expected rows ({ratio:.1%})")
        if c.problems and (ratio < self.t.warn_ratio or c.duplicates or c.null_keys
                           or any("game " in p for p in c.problems)):
            return Verdict.BLOCK
        return Verdict.WARN if c.problems else Verdict.PASS

    def _decide(self, phase: Phase, d: date, checks: list[Check], run_id: str | None,
                now: datetime) -> GateVerdict:
        worst = max((c.level for c in checks), key=_rank, default=Verdict.PASS)
        ranked = sorted(checks, key=lambda c: -_rank(c.level))  # what blocks comes first
        reasons = tuple(f"{c.processor}: {p}" for c in ranked for p in c.problems)
        metrics = {c.processor: c.as_metrics() for c in checks}
        return GateVerdict(phase.value, d, worst, reasons, metrics, run_id, now)


def _failed_closed(check: Check) -> bool:
    """Whether the check is a BLOCK because its measurement failed, not the data."""
    return bool(check.problems) and check.problems[0].startswith(VALIDATOR_ERROR)


def _rank(v: Verdict) -> int:
    return {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.BLOCK: 2}[v]


def unmeasured(store: StatusStore, procs: Sequence[Processor], cals: Sequence[SeasonCalendar],
               days: Sequence[date]) -> dict[Processor, list[date]]:
    """Per processor, its done dates among ``days`` with no verdict since their last write, or
    only one that failed closed (``Gate.catch_up`` measures them)."""
    out: dict[Processor, list[date]] = {}
    if not days:
        return out
    lo, hi = min(days), max(days)
    for proc in procs:
        wanted = set(_expected(proc, cals, days))
        newest: dict[date, GateVerdict] = {}
        for v in store.verdicts(proc.name, lo, hi):
            newest[v.game_date] = v
        todo = [doc.game_date for doc in store.list([proc.name], lo, hi)
                if doc.game_date in wanted and doc.state in DONE
                and _needs_measuring(doc, newest.get(doc.game_date))]
        if todo:
            out[proc] = todo
    return out


def phase_unmeasured(store: StatusStore, phase: Phase, days: Sequence[date]) -> bool:
    """Whether a date of the phase has no phase verdict yet, or only a BLOCK (the phase must
    be validated again)."""
    if not days:
        return False
    latest: dict[date, GateVerdict] = {}
    for v in store.verdicts(phase.value, min(days), max(days)):
        latest[v.game_date] = v
    return any(d not in latest or latest[d].verdict is Verdict.BLOCK for d in days)


def _needs_measuring(doc: PartitionStatus, verdict: GateVerdict | None) -> bool:
    if verdict is None:
        return True
    if verdict.verdict is Verdict.BLOCK and any(r.startswith(VALIDATOR_ERROR)
                                                for r in verdict.reasons):
        return True
    return (verdict.decided_at is not None and doc.finished_at is not None
            and verdict.decided_at < doc.finished_at)


def _expected(proc: Processor, cals: Sequence[SeasonCalendar], days: Sequence[date],
              ) -> list[date]:
    """The processor's expected dates among ``days``, sorted."""
    return sorted(set(days) & {d for cal in cals for d in cal.expected_dates(proc)})


def _annotate(store: StatusStore, checks: dict[date, list[Check]]) -> None:
    """A succeeded date whose check BLOCKed is recorded ``degraded`` with the gate's reason:
    the status never says succeeded for output the gate refused."""
    for d, found in checks.items():
        for c in found:
            if c.level is not Verdict.BLOCK or c.problems[:1] and c.problems[0].startswith(
                    VALIDATOR_ERROR):  # the measurement failed, not the data: BLOCK only
                continue
            current = store.get(c.processor, d)
            if current and current.state is State.SUCCEEDED:
                more = f"; … and {len(c.problems) - 3} more" if len(c.problems) > 3 else ""
                store.annotate(c.processor, d, State.DEGRADED,
                               "gate: " + "; ".join(c.problems[:3]) + more)
