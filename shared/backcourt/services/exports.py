"""Phase 6: publish each game date's predictions, results and best bets as JSON files.

For every date the processor owns it writes three objects to the bucket and returns one manifest
row per file (``nba_exports.export_files``)::

    exports/v1/predictions/<date>.json   every prediction, grouped game → player → system
    exports/v1/results/<date>.json       graded predictions and the per-system quality report
    exports/v1/best-bets/<date>.json     top actionable gradient-boosting picks by confidence

Files are byte-identical when re-exported from the same rows: no timestamps or run ids inside,
sorted keys, explicitly ordered lists, fixed float rounding and one canonical encoding. Their
shapes are published as JSON Schemas (draft 2020-12) in ``backcourt/schemas/``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from importlib import resources
from operator import itemgetter
from typing import Any

import orjson

from backcourt.domain import tables_analytics as ta
from backcourt.domain import tables_predictions as tpr
from backcourt.domain.errors import BadInput, TerminalError
from backcourt.ports import Bucket, ComputeContext, Warehouse

SCHEMA_VERSION = 1
EXPORT_PREFIX = "exports/v1"
KINDS: tuple[str, ...] = ("predictions", "results", "best-bets")
RECOMMENDATIONS: tuple[str, ...] = ("OVER", "UNDER", "PASS", "NO_LINE")
PICKS: frozenset[str] = frozenset({"OVER", "UNDER"})
RESULTS: tuple[str, ...] = ("HIT", "MISS", "PUSH", "VOID", "NO_PICK")

BEST_BETS_SYSTEM = "gradient_boosting"
BEST_BETS_MIN_EDGE = 3.0  # |edge| (rounded to POINTS_PLACES) at least this many points
BEST_BETS_MAX_PICKS = 15

POINTS_PLACES = 2  # points, lines, edges, errors, MAE, bias, minutes
RATIO_PLACES = 3  # confidence, hit rate

_SYSTEM_GAME_ID = re.compile(r"^\d{8}_([A-Z]{2,4})_([A-Z]{2,4})$")

Row = dict[str, Any]

_PREDICTIONS_SQL = f"""
SELECT p.game_date, p.game_id, p.player_lookup, p.system_id, p.team_abbr, p.predicted_points,
       p.points_line, p.edge, p.recommendation, p.confidence, p.is_actionable, p.reason,
       p.model_version, c.player_full_name, c.team_abbr AS context_team_abbr,
       c.opponent_team_abbr, c.home_game
FROM {tpr.PLAYER_PROP_PREDICTIONS.fqn} AS p
LEFT JOIN {ta.UPCOMING_PLAYER_GAME_CONTEXT.fqn} AS c
  ON c.game_date = p.game_date AND c.player_lookup = p.player_lookup
WHERE p.game_date BETWEEN @start_date AND @end_date
"""

_RESULTS_SQL = f"""
SELECT a.game_date, COALESCE(a.game_id, g.game_id) AS game_id, a.player_lookup, a.system_id,
       a.predicted_points, a.actual_points, a.points_line, a.recommendation, a.absolute_error,
       a.signed_error, a.prediction_correct, a.is_voided, a.void_reason,
       COALESCE(g.team_abbr, p.team_abbr) AS team_abbr, g.opponent_team_abbr,
       g.minutes_played, p.confidence
FROM {tpr.PREDICTION_ACCURACY.fqn} AS a
LEFT JOIN {ta.PLAYER_GAME_SUMMARY.fqn} AS g
  ON g.game_date = a.game_date AND g.player_lookup = a.player_lookup
LEFT JOIN {tpr.PLAYER_PROP_PREDICTIONS.fqn} AS p
  ON p.game_date = a.game_date AND p.player_lookup = a.player_lookup
 AND p.system_id = a.system_id
WHERE a.game_date BETWEEN @start_date AND @end_date
"""


# -- public helpers ----------------------------------------------------------------------------
def export_path(kind: str, game_date: date) -> str:
    """Bucket path of one export file: ``exports/v1/<kind>/<YYYY-MM-DD>.json``."""
    _check_kind(kind)
    return f"{EXPORT_PREFIX}/{kind}/{game_date.isoformat()}.json"


def load_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one export kind, read from the installed package.

    Raises:
        BadInput: ``kind`` is not one of predictions, results, best-bets.
    """
    _check_kind(kind)
    text = (resources.files("backcourt") / "schemas" / f"{kind}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def encode(document: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a document: sorted keys, compact separators, UTF-8, newline —
    the bytes of ``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    for the documents built here (string keys; every float rounded by ``_num``, so finite),
    written by orjson, several times faster."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def compute(ctx: ComputeContext) -> list[dict[str, Any]]:
    """Write the three export files of every date in ``ctx.days`` and return the manifest.

    Reads the predictions and the grading of the whole date range with one query each.

    Returns:
        One ``nba_exports.export_files`` row per file written (3 per date): game_date, kind,
        path, sha256 of the published bytes and records (entries in the file).
    Raises:
        TerminalError: a row holds a value the published schema does not allow.
    """
    days = sorted(set(ctx.days))
    if not days:
        return []
    predictions = _by_date(_read(ctx.warehouse, _PREDICTIONS_SQL, days), days)
    graded = _by_date(_read(ctx.warehouse, _RESULTS_SQL, days), days)
    if not (ctx.pool and len(days) > 1):
        return [row for day in days
                for row in _export_date(ctx.bucket, day, predictions[day], graded[day])]
    # building, encoding and writing are pure Python and file I/O: a pool (large local runs)
    # does dates side by side. Rows cross to the workers as plain tuples of one date (no
    # per-row dict or date to pickle), which costs the parent several times less.
    jobs = [(ctx.bucket, day, _packed(predictions[day]), _packed(graded[day])) for day in days]
    done = ctx.pool.map(_export_packed, jobs, chunksize=4)
    return [row for rows in done for row in rows]


Packed = tuple[tuple[str, ...], list[tuple[Any, ...]]]
"""One date's rows without their game_date: the column names and one tuple per row."""


def _packed(rows: Sequence[Row]) -> Packed:
    if not rows:
        return (), []
    names = tuple(k for k in rows[0] if k != "game_date")
    values = itemgetter(*names)
    if len(names) == 1:
        return names, [(values(r),) for r in rows]
    return names, [values(r) for r in rows]


def _unpacked(day: date, packed: Packed) -> list[Row]:
    names, tuples = packed
    return [dict(zip(names, t, strict=True), game_date=day) for t in tuples]


def _export_packed(job: tuple[Bucket, date, Packed, Packed]) -> list[dict[str, Any]]:
    """``_export_date`` of one date whose rows came packed (``_packed``)."""
    bucket, day, predicted, graded = job
    return _export_date(bucket, day, _unpacked(day, predicted), _unpacked(day, graded))


def _export_date(bucket: Bucket, day: date, predicted: list[Row], graded: list[Row]
                 ) -> list[dict[str, Any]]:
    """Write the three files of one date from its prediction and grading rows; their manifest
    rows."""
    docs = {
        "predictions": build_predictions(day, predicted),
        "results": build_results(day, graded),
        "best-bets": build_best_bets(day, predicted),
    }
    return [_publish(bucket, kind, day, docs[kind]) for kind in KINDS]


# -- documents ---------------------------------------------------------------------------------
def build_predictions(game_date: date, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The predictions document of one date from ``player_prop_predictions`` rows (joined with
    the pre-game player context): games → players → one entry per prediction system."""
    games: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        games.setdefault(_key(row, "game_id"), []).append(row)
    out_games = [_game(gid, games[gid]) for gid in sorted(games)]
    return {
        "schema_version": SCHEMA_VERSION,
        "game_date": game_date.isoformat(),
        "generated_from": {tpr.PLAYER_PROP_PREDICTIONS.name: len(rows)},
        "summary": {
            "total_games": len(out_games),
            "total_players": sum(len(g["players"]) for g in out_games),
            "total_predictions": len(rows),
            "recommendation_breakdown": {  # the games' breakdowns added up
                rec: sum(g["recommendation_breakdown"][rec] for g in out_games)
                for rec in RECOMMENDATIONS},
        },
        "games": out_games,
    }


def build_results(game_date: date, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The results document of one date from ``prediction_accuracy`` rows: one entry per graded
    prediction and the per-system quality report (graded, MAE, bias, hits, misses, pushes,
    voids, hit rate)."""
    outcomes = [_outcome(r) for r in rows]
    results = _ordered((_result(r, o) for r, o in zip(rows, outcomes, strict=True)),
                       lambda e: (e["game_id"] or "", e["player_lookup"], e["system_id"]))
    by_system: dict[str, tuple[list[Mapping[str, Any]], list[str]]] = {}
    for row, outcome in zip(rows, outcomes, strict=True):
        group = by_system.setdefault(_key(row, "system_id"), ([], []))
        group[0].append(row)
        group[1].append(outcome)
    return {
        "schema_version": SCHEMA_VERSION,
        "game_date": game_date.isoformat(),
        "generated_from": {tpr.PREDICTION_ACCURACY.name: len(rows)},
        "systems": [_system_summary(s, *by_system[s]) for s in sorted(by_system)],
        "results": results,
    }


def build_best_bets(game_date: date, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The best-bets document of one date: actionable OVER/UNDER picks of
    ``BEST_BETS_SYSTEM`` with |edge| ≥ ``BEST_BETS_MIN_EDGE``, ranked by confidence, then
    |edge| (both descending), then player; the first ``BEST_BETS_MAX_PICKS``."""
    eligible = [_pick(r) for r in rows if _is_best_bet(r)]
    ranked = _ordered(eligible, lambda p: (-(p["confidence"] or 0.0), -abs(p["edge"]),
                                           p["player_lookup"], p["game_id"]))
    picks = [{**p, "rank": i} for i, p in enumerate(ranked[:BEST_BETS_MAX_PICKS], start=1)]
    return {
        "schema_version": SCHEMA_VERSION,
        "game_date": game_date.isoformat(),
        "generated_from": {tpr.PLAYER_PROP_PREDICTIONS.name: len(rows)},
        "criteria": {"system_id": BEST_BETS_SYSTEM, "min_abs_edge": BEST_BETS_MIN_EDGE,
                     "max_picks": BEST_BETS_MAX_PICKS},
        "eligible": len(eligible),
        "picks": picks,
    }


def system_summary(system_id: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Quality of one system on one date from its ``prediction_accuracy`` rows.

    ``graded`` counts non-voided rows with an absolute error (an actual); MAE and bias (mean
    signed error, predicted − actual) are over those, from the unrounded errors. Hits, misses,
    pushes, voids and no-picks count the rows' ``result``; hit rate = hits / (hits + misses),
    pushes excluded. Averages are None when there is nothing to average.
    """
    return _system_summary(system_id, rows, [_outcome(r) for r in rows])


def _system_summary(system_id: str, rows: Sequence[Mapping[str, Any]],
                    outcomes: Iterable[str]) -> dict[str, Any]:
    """``system_summary`` of rows whose ``_outcome`` is already known (``outcomes``)."""
    graded = [r for r in rows
              if not _flag(r, "is_voided") and _finite(r.get("absolute_error")) is not None]
    outcome = Counter(outcomes)
    hits, misses = outcome["HIT"], outcome["MISS"]
    return {
        "system_id": system_id,
        "predictions": len(rows),
        "graded": len(graded),
        "mae": _mean([_finite(r.get("absolute_error")) for r in graded], POINTS_PLACES),
        "bias": _mean([_finite(r.get("signed_error")) for r in graded], POINTS_PLACES),
        "hits": hits,
        "misses": misses,
        "pushes": outcome["PUSH"],
        "voids": outcome["VOID"],
        "no_picks": outcome["NO_PICK"],
        "hit_rate": _num(hits / (hits + misses), RATIO_PLACES) if hits + misses else None,
    }


# -- rows → entries ----------------------------------------------------------------------------
def _game(game_id: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    players: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        players.setdefault(_key(row, "player_lookup"), []).append(row)
    home, away = _sides(game_id, rows)
    return {
        "game_id": game_id,
        "home_team": home,
        "away_team": away,
        "prediction_count": len(rows),
        "recommendation_breakdown": _breakdown(rows),
        "players": [_player(p, players[p]) for p in sorted(players)],
    }


def _player(lookup: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    first = min(rows, key=lambda r: str(r.get("system_id")))
    team = _text(first, "team_abbr") or _text(first, "context_team_abbr")
    return {
        "player_lookup": lookup,
        "player_name": _text(first, "player_full_name"),
        "team": team,
        "opponent": _text(first, "opponent_team_abbr"),
        "is_home": _flag(first, "home_game"),
        "predictions": _ordered((_system_entry(r) for r in rows), lambda e: (e["system_id"],)),
    }


def _system_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    get = row.get
    points, line, edge, confidence = (get("predicted_points"), get("points_line"), get("edge"),
                                      get("confidence"))
    reason, version, system = get("reason"), get("model_version"), get("system_id")
    return {
        "system_id": system if type(system) is str and system else _key(row, "system_id"),
        # the finite-float fast path of _num, inline (the hot loop of phase 6)
        "predicted_points": round(points, POINTS_PLACES) + 0.0
        if type(points) is float and points - points == 0.0 else _num(points, POINTS_PLACES),
        "line": round(line, POINTS_PLACES) + 0.0
        if type(line) is float and line - line == 0.0 else _num(line, POINTS_PLACES),
        "edge": round(edge, POINTS_PLACES) + 0.0
        if type(edge) is float and edge - edge == 0.0 else _num(edge, POINTS_PLACES),
        "recommendation": _recommendation(row, required=True),
        "confidence": round(confidence, RATIO_PLACES) + 0.0
        if type(confidence) is float and confidence - confidence == 0.0
        else _num(confidence, RATIO_PLACES),
        "is_actionable": bool(get("is_actionable")),
        "reason": reason if type(reason) is str and reason else _str(reason),
        "model_version": version if type(version) is str and version else _str(version),
    }


def _result(row: Mapping[str, Any], outcome: str) -> dict[str, Any]:
    """One graded prediction; ``outcome`` is ``_outcome(row)``."""
    get = row.get
    correct = get("prediction_correct")
    game, lookup, system = get("game_id"), get("player_lookup"), get("system_id")
    team, opponent = get("team_abbr"), get("opponent_team_abbr")
    minutes, points, line = get("minutes_played"), get("predicted_points"), get("points_line")
    confidence, absolute, signed = (get("confidence"), get("absolute_error"),
                                    get("signed_error"))
    reason = get("void_reason")
    return {
        "game_id": game if type(game) is str and game else _str(game),
        "player_lookup": lookup if type(lookup) is str and lookup
        else _key(row, "player_lookup"),
        "system_id": system if type(system) is str and system else _key(row, "system_id"),
        "team": team if type(team) is str and team else _str(team),
        "opponent": opponent if type(opponent) is str and opponent else _str(opponent),
        # the finite-float fast path of _num, inline (the hot loop of phase 6)
        "minutes": round(minutes, POINTS_PLACES) + 0.0
        if type(minutes) is float and minutes - minutes == 0.0
        else _num(minutes, POINTS_PLACES),
        "predicted_points": round(points, POINTS_PLACES) + 0.0
        if type(points) is float and points - points == 0.0 else _num(points, POINTS_PLACES),
        "actual_points": _int(row, "actual_points"),
        "line": round(line, POINTS_PLACES) + 0.0
        if type(line) is float and line - line == 0.0 else _num(line, POINTS_PLACES),
        "recommendation": _recommendation(row, required=False),
        "confidence": round(confidence, RATIO_PLACES) + 0.0
        if type(confidence) is float and confidence - confidence == 0.0
        else _num(confidence, RATIO_PLACES),
        "absolute_error": round(absolute, POINTS_PLACES) + 0.0
        if type(absolute) is float and absolute - absolute == 0.0
        else _num(absolute, POINTS_PLACES),
        "signed_error": round(signed, POINTS_PLACES) + 0.0
        if type(signed) is float and signed - signed == 0.0 else _num(signed, POINTS_PLACES),
        "correct": None if correct is None else bool(correct),
        "voided": bool(get("is_voided")),
        "void_reason": reason if type(reason) is str and reason else _str(reason),
        "result": outcome,
    }


def _outcome(row: Mapping[str, Any]) -> str:
    """HIT / MISS from prediction_correct; PUSH when an OVER/UNDER pick landed on the line."""
    if _flag(row, "is_voided"):
        return "VOID"
    correct = _flag(row, "prediction_correct")
    if correct is not None:
        return "HIT" if correct else "MISS"
    actual, line = row.get("actual_points"), _finite(row.get("points_line"))
    if row.get("recommendation") in PICKS and actual is not None and line is not None \
            and float(actual) == line:
        return "PUSH"
    return "NO_PICK"


def _is_best_bet(row: Mapping[str, Any]) -> bool:
    edge = _num(row.get("edge"), POINTS_PLACES)
    return (row.get("system_id") == BEST_BETS_SYSTEM and bool(_flag(row, "is_actionable"))
            and row.get("recommendation") in PICKS and edge is not None
            and abs(edge) >= BEST_BETS_MIN_EDGE)


def _pick(row: Mapping[str, Any]) -> dict[str, Any]:
    team = _text(row, "team_abbr") or _text(row, "context_team_abbr")
    return {
        "game_id": _key(row, "game_id"),
        "player_lookup": _key(row, "player_lookup"),
        "player_name": _text(row, "player_full_name"),
        "team": team,
        "opponent": _text(row, "opponent_team_abbr"),
        "recommendation": _recommendation(row, required=True),
        "predicted_points": _num(row.get("predicted_points"), POINTS_PLACES),
        "line": _num(row.get("points_line"), POINTS_PLACES),
        "edge": _num(row.get("edge"), POINTS_PLACES),
        "confidence": _num(row.get("confidence"), RATIO_PLACES),
        "model_version": _text(row, "model_version"),
    }


def _sides(game_id: str, rows: Sequence[Mapping[str, Any]]) -> tuple[str | None, str | None]:
    """(home, away) from the first player (by lookup) with context, else the system game id."""
    for row in sorted(rows, key=lambda r: (str(r.get("player_lookup")),
                                           str(r.get("system_id")))):
        team = _text(row, "context_team_abbr") or _text(row, "team_abbr")
        opponent, home = _text(row, "opponent_team_abbr"), _flag(row, "home_game")
        if team and opponent and home is not None:
            return (team, opponent) if home else (opponent, team)
    match = _SYSTEM_GAME_ID.match(game_id)
    return (match.group(2), match.group(1)) if match else (None, None)


def _breakdown(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = Counter(_recommendation(r, required=True) for r in rows)
    return {rec: counts[rec] for rec in RECOMMENDATIONS}


# -- reading and writing -----------------------------------------------------------------------
def _read(warehouse: Warehouse, sql: str, days: Sequence[date]) -> list[Row]:
    return warehouse.query(sql, {"start_date": days[0], "end_date": days[-1]})


def _by_date(rows: Iterable[Row], days: Sequence[date]) -> dict[date, list[Row]]:
    out: dict[date, list[Row]] = {d: [] for d in days}
    for row in rows:
        value = row.get("game_date")
        day = value if type(value) is date else _as_date(value)
        if day in out:
            out[day].append(row)
    return out


def _publish(bucket: Bucket, kind: str, day: date, doc: dict[str, Any]) -> dict[str, Any]:
    data = encode(doc)
    path = export_path(kind, day)
    bucket.write(path, data)
    return {"game_date": day, "kind": kind, "path": path,
            "sha256": hashlib.sha256(data).hexdigest(), "records": _records(kind, doc)}


def _records(kind: str, doc: Mapping[str, Any]) -> int:
    if kind == "predictions":
        return int(doc["summary"]["total_predictions"])
    return len(doc["results"] if kind == "results" else doc["picks"])


def _ordered(entries: Iterable[dict[str, Any]],
             key: Callable[[dict[str, Any]], tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Sort by ``key``; equal keys (duplicate rows) fall back to the encoded entry, so the
    order never depends on the order the warehouse returned the rows in. Only entries whose
    key is shared are encoded (encoding every entry was most of phase 6's time)."""
    keyed = [(key(e), e) for e in entries]
    if len(keyed) < 2:
        return [e for _, e in keyed]
    keyed.sort(key=_first)  # unique keys (the usual case): this is the order
    if any(keyed[i][0] == keyed[i + 1][0] for i in range(len(keyed) - 1)):
        shared = Counter(k for k, _ in keyed)
        keyed.sort(key=lambda p: (p[0], encode(p[1]) if shared[p[0]] > 1 else b""))
    return [e for _, e in keyed]


def _first(pair: tuple[tuple[Any, ...], dict[str, Any]]) -> tuple[Any, ...]:
    return pair[0]


# -- value coercion ----------------------------------------------------------------------------
def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise BadInput(f"unknown export kind {kind!r}; known: {', '.join(KINDS)}")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    raise TerminalError(f"export row has no usable game_date: {value!r}")


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if number - number == 0.0 else None  # NaN and ±inf give NaN


def _num(value: Any, places: int) -> float | None:
    """Round to ``places``; NaN/inf become None; −0.0 becomes 0.0 (stable bytes)."""
    if value is None:
        return None
    number = float(value)
    return round(number, places) + 0.0 if number - number == 0.0 else None


def _mean(values: Sequence[float | None], places: int) -> float | None:
    real = [v for v in values if v is not None]
    return _num(math.fsum(real) / len(real), places) if real else None


def _int(row: Mapping[str, Any], name: str) -> int | None:
    value = row.get(name)
    if value is None:
        return None
    number = float(value)
    if not number.is_integer():
        raise TerminalError(f"{name} must be a whole number, got {value!r} for {_who(row)}")
    return int(number)


def _text(row: Mapping[str, Any], name: str) -> str | None:
    value = row.get(name)
    return value if type(value) is str and value else _str(value)


def _str(value: Any) -> str | None:
    """A text value: None and "" are None."""
    if value is None or value == "":
        return None
    return value if type(value) is str else str(value)


def _key(row: Mapping[str, Any], name: str) -> str:
    """A column the published shape requires (an id): TerminalError names the row without it."""
    value = row.get(name)
    if type(value) is str and value:
        return value
    value = _str(value)
    if value is None:
        raise TerminalError(f"export row without {name}: {_who(row)}")
    return value


def _flag(row: Mapping[str, Any], name: str) -> bool | None:
    value = row.get(name)
    return None if value is None else bool(value)


def _recommendation(row: Mapping[str, Any], *, required: bool) -> str | None:
    value = row.get("recommendation")
    if value is None and not required:
        return None
    if value not in RECOMMENDATIONS:
        raise TerminalError(f"recommendation {value!r} is not one of "
                            f"{', '.join(RECOMMENDATIONS)}: {_who(row)}")
    return str(value)


def _who(row: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={row.get(k)!s}" for k in ("game_date", "player_lookup", "system_id"))
