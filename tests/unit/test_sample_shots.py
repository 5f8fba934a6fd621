"""Shot charts of the synthetic league (2022-23): one per box-score game, every player's shots
adding up to his box line, places that fit their zones, and the zone signal phase 4 looks for.

Everything is read from the written files. Byte-for-byte determinism of whole seasons (shot
charts included) is checked by test_sample.py; here the shot drawing itself is replayed."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.domain.teams import BY_ID
from backcourt.sample import SampleSummary, generate_season
from backcourt.sample import formats as sample_formats
from backcourt.sample.generate import DEFAULT_SEED, real_schedule_bytes
from backcourt.sample.league import build_league
from backcourt.sample.season import SeasonSim, fit_ratings
from backcourt.sample.shots import ShotMaker, player_profile, profile_shares, zone_defence
from backcourt.sample.slate import real_fixtures
from backcourt.sources import layout, loaders, nbacom_schedule
from backcourt.sources.loaders import LoadContext

SEASON = "2022-23"
THREE_ZONES = {"Left Corner 3", "Right Corner 3", "Above the Break 3", "Backcourt"}
TWO_ZONES = {"Restricted Area", "In The Paint (Non-RA)", "Mid-Range"}


def _rows(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    rs = next(r for r in doc["resultSets"] if r["name"] == name)
    return [dict(zip(rs["headers"], row, strict=True)) for row in rs["rowSet"]]


@dataclass
class Season:
    """One generated season: box scores and shot charts by NBA.com game id."""

    root: Path
    summary: SampleSummary
    dates: dict[str, date]
    boxes: dict[str, dict[str, Any]]
    shots: dict[str, list[dict[str, Any]]]  # Shot_Chart_Detail rows
    schedule: dict[str, dict[str, Any]]

    def defended(self) -> dict[str, list[dict[str, Any]]]:
        """Defending team → the shots its opponents took."""
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rows in self.shots.values():
            for r in rows:
                shooter = BY_ID[r["TEAM_ID"]].tricode
                out[r["VTM"] if shooter == r["HTM"] else r["HTM"]].append(r)
        return out


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Season:
    root = tmp_path_factory.mktemp("shots")
    summary = generate_season(FolderBucket(root), SEASON)
    dates, boxes, shots = {}, {}, {}
    for path in sorted((root / "raw" / "nbacom_boxscore").glob("*/*.json")):
        boxes[path.stem] = json.loads(path.read_text("utf-8"))
        dates[path.stem] = date.fromisoformat(path.parent.name)
    for path in sorted((root / "raw" / "nbacom_shotchart").glob("*/*.json")):
        shots[path.stem] = _rows(json.loads(path.read_text("utf-8")), "Shot_Chart_Detail")
        assert date.fromisoformat(path.parent.name) == dates.get(path.stem), path
    doc = json.loads((root / layout.schedule_path(SEASON)).read_text("utf-8"))
    schedule = {g["gameId"]: g for d in doc["leagueSchedule"]["gameDates"] for g in d["games"]}
    return Season(root, summary, dates, boxes, shots, schedule)


# ------------------------------------------------------------------ files and box-score totals


def test_one_shot_chart_per_box_score_game(season: Season) -> None:
    assert set(season.shots) == set(season.boxes)
    assert season.summary.files["nbacom_shotchart"] == season.summary.games == len(season.shots)


def test_each_players_shots_add_up_to_his_box_line(season: Season) -> None:
    for gid, box in season.boxes.items():
        got: Counter[tuple[int, str]] = Counter()
        teams = {}
        for r in season.shots[gid]:
            pid, made = r["PLAYER_ID"], r["SHOT_MADE_FLAG"]
            three = r["SHOT_TYPE"] == "3PT Field Goal"
            got[pid, "FGA"] += 1
            got[pid, "FGM"] += made
            got[pid, "FG3A"] += three
            got[pid, "FG3M"] += three and made
            teams[pid] = BY_ID[r["TEAM_ID"]].tricode
        lines = _rows(box, "PlayerStats")
        for p in lines:
            for stat in ("FGA", "FGM", "FG3A", "FG3M"):
                assert got[p["PLAYER_ID"], stat] == (p[stat] or 0), (gid, p["PLAYER_NAME"], stat)
            if p["FGA"]:
                assert teams[p["PLAYER_ID"]] == p["TEAM_ABBREVIATION"], (gid, p["PLAYER_NAME"])
        assert set(teams) == {p["PLAYER_ID"] for p in lines if p["FGA"]}, gid


def test_threes_come_from_three_point_zones_and_twos_from_inside(season: Season) -> None:
    kinds: Counter[tuple[str, str]] = Counter()
    for rows in season.shots.values():
        for r in rows:
            kinds[r["SHOT_TYPE"], r["SHOT_ZONE_BASIC"]] += 1
    assert {z for t, z in kinds if t == "3PT Field Goal"} == THREE_ZONES
    assert {z for t, z in kinds if t == "2PT Field Goal"} == TWO_ZONES
    made = Counter(r["EVENT_TYPE"] == "Made Shot" for rows in season.shots.values() for r in rows)
    flags = Counter(r["SHOT_MADE_FLAG"] == 1 for rows in season.shots.values() for r in rows)
    assert made == flags


def test_places_fit_their_zones(season: Season) -> None:
    for rows in season.shots.values():
        for r in rows:
            x, y, zone = r["LOC_X"], r["LOC_Y"], r["SHOT_ZONE_BASIC"]
            feet = math.hypot(x, y) / 10.0
            assert abs(r["SHOT_DISTANCE"] - feet) <= 0.5 + 1e-9, r
            # The three-point line: 22 ft in the corners (|x| ≥ 22 ft below the break), 23.75 ft
            # on the arc; half court is 41.75 ft up from the basket.
            beyond_arc = abs(x) >= 220 if y <= 92 else feet >= 23.75
            assert beyond_arc == (zone in THREE_ZONES), r
            assert -52 <= y and abs(x) <= 250, r
            if zone == "Restricted Area":
                assert feet <= 4.1, r
            elif zone == "In The Paint (Non-RA)":
                assert 4 <= feet <= 8.1 and abs(x) <= 80, r
            elif zone == "Mid-Range":
                assert 8 <= r["SHOT_DISTANCE"] <= 23, r
            elif zone in ("Left Corner 3", "Right Corner 3"):
                assert (x > 0) == (zone == "Left Corner 3") and y <= 92 and feet >= 22, r
            elif zone == "Above the Break 3":
                assert y > 92 and 23.75 <= feet <= 30 and y < 417, r
            else:
                assert y > 417, r


def test_clock_event_ids_date_and_teams(season: Season) -> None:
    for gid, rows in season.shots.items():
        sched = season.schedule[gid]
        team_min = {int(t["MIN"].split(":")[0]) for t in _rows(season.boxes[gid], "TeamStats")}
        periods = 4 + (team_min.pop() - 240) // 25
        events = [r["GAME_EVENT_ID"] for r in rows]
        assert events == sorted(events) and len(set(events)) == len(events), gid
        clock = [(r["PERIOD"], -(r["MINUTES_REMAINING"] * 60 + r["SECONDS_REMAINING"]))
                 for r in rows]
        assert clock == sorted(clock), gid
        for r in rows:
            length = 12 if r["PERIOD"] <= 4 else 5
            assert 1 <= r["PERIOD"] <= periods and 0 <= r["SECONDS_REMAINING"] < 60, r
            assert r["MINUTES_REMAINING"] * 60 + r["SECONDS_REMAINING"] < length * 60, r
            assert r["GAME_DATE"] == f"{season.dates[gid]:%Y%m%d}" and r["GAME_ID"] == gid
            assert (r["HTM"], r["VTM"]) == (sched["homeTeam"]["teamTricode"],
                                            sched["awayTeam"]["teamTricode"])
            assert r["SHOT_ATTEMPTED_FLAG"] == 1


def test_files_load_with_rows_for_both_teams(season: Season) -> None:
    bucket = FolderBucket(season.root)
    days = sorted(set(season.dates.values()))[::3]  # a third of the dates keeps this fast
    sched = [nbacom_schedule.scheduled_game(r) for r in
             nbacom_schedule.parse(json.loads(bucket.read(layout.schedule_path(SEASON))), "s")]
    games = {d: [g for g in sched if g.game_date == d] for d in days}
    out = loaders.load_shot_chart(LoadContext(bucket, days, games))
    ids = {g.nba_game_id: g for g in sched}
    for day, load in out.items():
        assert load.bad_files == []
        assert load.files == len({r["nba_game_id"] for r in load.rows}) > 0
        teams: dict[str, set[str]] = defaultdict(set)
        for r in load.rows:
            teams[r["nba_game_id"]].add(r["team_abbr"])
            assert r["game_id"] == ids[r["nba_game_id"]].game_id
        for gid, seen in teams.items():
            assert seen == {ids[gid].home, ids[gid].away}, (day, gid)
    loaded = {r["nba_game_id"] for load in out.values() for r in load.rows}
    assert loaded == {g for g, d in season.dates.items() if d in out}
    assert sum(len(load.rows) for load in out.values()) == sum(len(season.shots[g])
                                                               for g in loaded)


# ------------------------------------------------------------------ the model


def _paint_share(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """(paint share of the two-point attempts, paint FG%)."""
    twos = [r for r in rows if r["SHOT_TYPE"] == "2PT Field Goal"]
    paint = [r for r in twos if r["SHOT_ZONE_BASIC"] != "Mid-Range"]
    return len(paint) / len(twos), sum(r["SHOT_MADE_FLAG"] for r in paint) / len(paint)


def test_team_zone_defence_shows_in_what_opponents_shoot(season: Season) -> None:
    weak = zone_defence(SEASON, DEFAULT_SEED)
    allowed = season.defended()
    teams = sorted(allowed)
    share, paint_pct = zip(*(_paint_share(allowed[t]) for t in teams), strict=True)
    mid_pct = [np.mean([r["SHOT_MADE_FLAG"] for r in allowed[t]
                        if r["SHOT_ZONE_BASIC"] == "Mid-Range"]) for t in teams]
    paint_edge = [weak[t][0] - weak[t][1] for t in teams]
    assert np.corrcoef(paint_edge, share)[0, 1] > 0.3
    assert np.corrcoef([weak[t][0] for t in teams], paint_pct)[0, 1] > 0.3
    assert np.corrcoef([weak[t][1] for t in teams], mid_pct)[0, 1] > 0.3
    assert max(paint_pct) - min(paint_pct) > 0.04  # a spread phase 4 can rank


def test_zone_defence_persists_from_season_to_season() -> None:
    a, b = zone_defence("2022-23", DEFAULT_SEED), zone_defence("2023-24", DEFAULT_SEED)
    teams = sorted(a)
    flat_a = np.concatenate([a[t] for t in teams])
    flat_b = np.concatenate([b[t] for t in teams])
    assert np.corrcoef(flat_a, flat_b)[0, 1] > 0.4
    assert not np.allclose(flat_a, flat_b)


def test_player_shot_profiles_persist_and_follow_position(season: Season) -> None:
    half = sorted(season.dates.values())[len(season.dates) // 2]
    by_half: dict[tuple[int, bool], list[dict[str, Any]]] = defaultdict(list)
    for gid, rows in season.shots.items():
        for r in rows:
            by_half[r["PLAYER_ID"], season.dates[gid] < half].append(r)
    pairs = []
    for (pid, first), rows in by_half.items():
        other = by_half.get((pid, not first), [])
        n1 = sum(r["SHOT_TYPE"] == "2PT Field Goal" for r in rows)
        n2 = sum(r["SHOT_TYPE"] == "2PT Field Goal" for r in other)
        if first and n1 >= 80 and n2 >= 80:
            pairs.append((_paint_share(rows)[0], _paint_share(other)[0]))
    assert len(pairs) > 100
    assert np.corrcoef(np.array(pairs).T)[0, 1] > 0.5
    position = {p.player_id: p.position for p in build_league(SEASON, DEFAULT_SEED).players()}
    mix: dict[str, list[float]] = defaultdict(list)
    for (pid, first), rows in by_half.items():
        if first and pid in position and len(rows) >= 100:
            mix[position[pid]].append(_paint_share(rows)[0])
    assert np.mean(mix["C"]) > np.mean(mix["F"]) > np.mean(mix["G"])


def test_a_players_profile_is_the_same_in_every_season() -> None:
    old = {p.player_id: p for p in build_league("2021-22", DEFAULT_SEED).players()}
    new = build_league("2024-25", DEFAULT_SEED).players()
    kept = [p for p in new if p.player_id in old]
    assert len(kept) > 200
    for p in kept:
        assert player_profile(DEFAULT_SEED, p) == player_profile(DEFAULT_SEED, old[p.player_id])
        shares = profile_shares(DEFAULT_SEED, p, 0.4)
        assert shares["three"] == 0.4 and math.isclose(sum(shares.values()), 1.0)


def test_shot_drawing_replays_exactly_and_depends_on_the_seed() -> None:
    fixtures = real_fixtures(json.loads(real_schedule_bytes()))
    league = fit_ratings(build_league("2024-25", DEFAULT_SEED), fixtures)
    sim = SeasonSim(league, DEFAULT_SEED)
    results = sim.play([f for f in fixtures if f.type_digit == "2"][:20])

    def files(seed: int) -> list[bytes]:
        charts = ShotMaker(league, seed).charts(results)
        return [sample_formats.shot_chart(r, rows) for r, rows in zip(results, charts,
                                                                          strict=True)]

    first = files(DEFAULT_SEED)
    assert first == files(DEFAULT_SEED)
    assert all(a != b for a, b in zip(first, files(DEFAULT_SEED + 1), strict=True))
