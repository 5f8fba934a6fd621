"""The synthetic league generator on a generated season (2023-24): determinism, the real raw
formats, internal consistency of every file, the calendar rules and the model's effects.

Everything is checked from the written files, the way the pipeline will read them."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.domain.errors import BadInput
from backcourt.domain.ids import player_lookup
from backcourt.domain.teams import BY_TRICODE, TEAMS
from backcourt.sample import SEASONS, SampleSummary, generate_season
from backcourt.sample.league import build_league
from backcourt.sources import layout

SEASON = "2023-24"
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "nba"
COMPETITIVE = ("2", "4", "5", "6")
EAST = {"ATL", "BOS", "BKN", "CHA", "CHI", "CLE", "DET", "IND", "MIA", "MIL", "NYK", "ORL", "PHI",
        "TOR", "WAS"}


@dataclass
class Generated:
    """One generated season, parsed."""

    root: Path
    summary: SampleSummary
    schedule: dict[str, Any]
    games: dict[str, dict[str, Any]]  # NBA.com game id → schedule entry
    boxes: dict[str, dict[str, Any]]  # NBA.com game id → box score document
    box_dates: dict[str, date]

    @cached_property
    def player_games(self) -> dict[int, list[dict[str, Any]]]:
        """Player id → his box-score rows (plus GAME and DATE), in date order."""
        out: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for gid in sorted(self.boxes, key=lambda g: (self.box_dates[g], g)):
            for p in _rows(self.boxes[gid], "PlayerStats"):
                out[p["PLAYER_ID"]].append({**p, "GAME": gid, "DATE": self.box_dates[gid]})
        return out

    def played(self) -> list[dict[str, Any]]:
        """Schedule entries of the games that have a box score, in date order."""
        return sorted((self.games[g] for g in self.boxes),
                      key=lambda g: (g["gameDateEst"], g["gameId"]))


def _read(root: Path, rel: str) -> Any:
    return json.loads((root / rel).read_text("utf-8"))


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    root = tmp_path_factory.mktemp("league")
    summary = generate_season(FolderBucket(root), SEASON)
    schedule = _read(root, layout.schedule_path(SEASON))
    games = {g["gameId"]: g for d in schedule["leagueSchedule"]["gameDates"] for g in d["games"]}
    boxes, dates = {}, {}
    for path in sorted((root / "raw" / "nbacom_boxscore").glob("*/*.json")):
        boxes[path.stem] = json.loads(path.read_text("utf-8"))
        dates[path.stem] = date.fromisoformat(path.parent.name)
    return Generated(root, summary, schedule, games, boxes, dates)


def _rows(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    rs = next(r for r in doc["resultSets"] if r["name"] == name)
    return [dict(zip(rs["headers"], row, strict=True)) for row in rs["rowSet"]]


def _seconds(clock: str) -> int:
    minutes, seconds = clock.split(":")
    return int(minutes) * 60 + int(seconds)


def _csv_ids(season: str) -> dict[str, date]:
    text = resources.files("backcourt").joinpath(
        "data", "nbacom-game-ids-2021-22-to-2024-25.csv").read_text("utf-8")
    yy = season[2:4]
    out = {}
    for line in text.splitlines()[1:]:
        gid, day = line.split(",")
        if gid[3:5] == yy:
            out[gid] = date.fromisoformat(day)
    return out


def _team_games(gen: Generated) -> dict[str, list[tuple[date, dict[str, Any]]]]:
    out: dict[str, list[tuple[date, dict[str, Any]]]] = defaultdict(list)
    for g in gen.played():
        day = date.fromisoformat(g["gameDateEst"][:10])
        for side in ("homeTeam", "awayTeam"):
            out[g[side]["teamTricode"]].append((day, g))
    return out


# ------------------------------------------------------------------------ API and determinism


def test_unknown_season_is_refused_naming_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as err:
        generate_season(FolderBucket(tmp_path), "2019-20")
    assert "2019-20" in str(err.value)
    assert all(s in str(err.value) for s in SEASONS)
    assert not list(tmp_path.iterdir())


def test_same_seed_and_season_give_identical_bytes(gen: Generated,
                                                   tmp_path: Path) -> None:
    again = generate_season(FolderBucket(tmp_path), SEASON)
    assert again == gen.summary
    first = sorted(p.relative_to(gen.root) for p in gen.root.rglob("*") if p.is_file())
    second = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first == second
    for rel in first:
        assert (gen.root / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_summary_counts_what_was_written(gen: Generated) -> None:
    s = gen.summary
    ids = _csv_ids(SEASON)
    competitive = [g for g in ids if g[2] in COMPETITIVE]
    assert s.season == SEASON
    assert s.games == len(competitive) == len(gen.boxes)
    assert s.dates == len({ids[g] for g in competitive})
    for source in ("nbacom_boxscore", "oddsapi_game_lines", "oddsapi_player_props",
                   "nbacom_injury_report", "balldontlie_boxscores"):
        on_disk = list((gen.root / "raw" / source).glob("*/*.json"))
        assert s.files[source] == len(on_disk), source
    assert s.files["nbacom_schedule"] == 1
    assert s.files["oddsapi_game_lines"] == s.files["oddsapi_player_props"] == s.games
    assert s.files["nbacom_injury_report"] == s.dates
    assert s.players == 30 * 15


# --------------------------------------------------------------------------------- schedule


def test_schedule_uses_the_real_ids_and_dates(gen: Generated) -> None:
    ids = _csv_ids(SEASON)
    assert set(gen.games) == set(ids)  # regular, All-Star, play-in, playoffs: nothing else
    for gid, g in gen.games.items():
        assert g["gameDateEst"] == f"{ids[gid]}T00:00:00Z"
        assert g["gameStatus"] == 3 and g["gameStatusText"] == "Final"
        assert g["postponedStatus"] == "N"
    ls = gen.schedule["leagueSchedule"]
    assert ls["seasonYear"] == SEASON and ls["leagueId"] == "00"
    for block in ls["gameDates"]:
        month, day, rest = block["gameDate"].split("/")
        assert rest.endswith(" 00:00:00")
        assert all(g["gameDateEst"][:10] == f"{rest[:4]}-{month}-{day}" for g in block["games"])


def test_every_team_plays_82_regular_season_games_41_at_home(gen: Generated) -> None:
    games: Counter[str] = Counter()
    home: Counter[str] = Counter()
    for g in gen.games.values():
        if g["gameId"][2] == "2":
            games[g["homeTeam"]["teamTricode"]] += 1
            games[g["awayTeam"]["teamTricode"]] += 1
            home[g["homeTeam"]["teamTricode"]] += 1
    assert set(games) == {t.tricode for t in TEAMS}
    assert set(games.values()) == {82}
    assert set(home.values()) == {41}


def test_no_team_plays_twice_on_a_date(gen: Generated) -> None:
    seen: Counter[tuple[str, str]] = Counter()
    for g in gen.games.values():
        for side in ("homeTeam", "awayTeam"):
            if g[side]["teamTricode"] in BY_TRICODE:  # Rising Stars teams play twice a night
                seen[(g["gameDateEst"], g[side]["teamTricode"])] += 1
    assert max(seen.values()) == 1


def test_regular_season_records_end_at_82_games(gen: Generated) -> None:
    last: dict[str, tuple[str, int, int]] = {}
    for g in sorted(gen.games.values(), key=lambda g: (g["gameDateEst"], g["gameId"])):
        if g["gameId"][2] != "2":
            continue
        for side in ("homeTeam", "awayTeam"):
            t = g[side]
            last[t["teamTricode"]] = (g["gameId"], t["wins"], t["losses"])
    assert all(w + lo == 82 for _, w, lo in last.values())
    assert sum(w for _, w, _ in last.values()) == 1230


def _standings(gen: Generated) -> dict[str, int]:
    wins: Counter[str] = Counter()
    for g in gen.games.values():
        if g["gameId"][2] == "2":
            h, a = g["homeTeam"], g["awayTeam"]
            wins[(h if h["score"] > a["score"] else a)["teamTricode"]] += 1
    return {t.tricode: wins[t.tricode] for t in TEAMS}


def test_play_in_and_playoffs_go_to_the_best_teams(gen: Generated) -> None:
    wins = _standings(gen)
    play_in = {g[s]["teamTricode"] for g in gen.games.values() if g["gameId"][2] == "5"
               for s in ("homeTeam", "awayTeam")}
    playoffs = {g[s]["teamTricode"] for g in gen.games.values() if g["gameId"][2] == "4"
                for s in ("homeTeam", "awayTeam")}
    assert len(play_in) == 8 and len(playoffs) == 16
    assert len(play_in - playoffs) == 4  # the two play-in winners per conference go on
    for conf in (EAST, set(wins) - EAST):
        out = conf - play_in - playoffs
        assert len(out) == 5
        # a team that missed everything has no more wins than any play-in or playoff team
        assert max(wins[t] for t in out) <= min(wins[t] for t in conf & (play_in | playoffs))


def test_playoff_series_keep_their_pair_and_end_at_four_wins(gen: Generated) -> None:
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for g in gen.games.values():
        if g["gameId"][2] == "4":
            series[g["gameId"][:9]].append(g)
    real = Counter(gid[:9] for gid in _csv_ids(SEASON) if gid[2] == "4")
    assert {k: len(v) for k, v in series.items()} == dict(real)
    for games in series.values():
        games.sort(key=lambda g: g["gameId"])
        pairs = {frozenset((g["homeTeam"]["teamTricode"], g["awayTeam"]["teamTricode"]))
                 for g in games}
        assert len(pairs) == 1
        won: Counter[str] = Counter()
        for g in games:
            h, a = g["homeTeam"], g["awayTeam"]
            won[(h if h["score"] > a["score"] else a)["teamTricode"]] += 1
        winner, wins = won.most_common(1)[0]
        assert wins == 4 and sum(won.values()) == len(games)
        last = games[-1]
        assert winner in (last["homeTeam"]["teamTricode"], last["awayTeam"]["teamTricode"])
        assert last["seriesText"] == f"{winner} wins 4-{len(games) - 4}"
        record = {last[s]["teamTricode"]: last[s]["wins"] for s in ("homeTeam", "awayTeam")}
        assert record[winner] == 4 and sum(record.values()) == len(games)


# -------------------------------------------------------------------------------- box scores


def test_box_scores_have_the_real_headers(gen: Generated) -> None:
    real = json.loads((FIXTURES / "nbacom-boxscore-0022400561.json").read_text("utf-8"))
    shape = [(r["name"], r["headers"]) for r in real["resultSets"]]
    for gid, doc in gen.boxes.items():
        assert doc["resource"] == "boxscore"
        assert doc["parameters"]["GameID"] == gid
        assert [(r["name"], r["headers"]) for r in doc["resultSets"]] == shape


def test_every_box_score_is_internally_consistent(gen: Generated) -> None:
    summed = ("FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL",
              "BLK", "TO", "PF", "PTS")
    for gid, doc in gen.boxes.items():
        players, teams = _rows(doc, "PlayerStats"), _rows(doc, "TeamStats")
        split = _rows(doc, "TeamStarterBenchStats")
        assert len(teams) == 2 and teams[0]["PTS"] != teams[1]["PTS"], gid
        game_len = _seconds(teams[0]["MIN"])
        assert teams[1]["MIN"] == teams[0]["MIN"]
        assert (game_len - 240 * 60) % (25 * 60) == 0
        for team in teams:
            mine = [p for p in players if p["TEAM_ID"] == team["TEAM_ID"]]
            on = [p for p in mine if p["MIN"] is not None]
            assert sum(_seconds(p["MIN"]) for p in on) == game_len, gid
            for col in summed:
                assert team[col] == sum(p[col] for p in on), (gid, col)
            other = next(t for t in teams if t is not team)
            assert team["PLUS_MINUS"] == team["PTS"] - other["PTS"]
            assert sum(p["PLUS_MINUS"] for p in on) == 5 * team["PLUS_MINUS"], gid
            starters = [p for p in mine if p["START_POSITION"]]
            assert len(starters) == 5 and all(p["START_POSITION"] in "FCG" for p in starters)
            parts = [r for r in split if r["TEAM_ID"] == team["TEAM_ID"]]
            assert sorted(r["STARTERS_BENCH"] for r in parts) == ["Bench", "Starters"]
            assert sum(_seconds(r["MIN"]) for r in parts) == game_len
            assert sum(r["PTS"] for r in parts) == team["PTS"]
            for p in mine:
                _check_player(gid, p)


def _check_player(gid: str, p: dict[str, Any]) -> None:
    if p["MIN"] is None:
        assert p["COMMENT"].startswith(("DNP - ", "DND - ")), (gid, p["PLAYER_NAME"])
        assert p["PTS"] is None and p["FGA"] is None and p["PLUS_MINUS"] is None
        return
    assert p["COMMENT"] == ""
    minutes, seconds = p["MIN"].split(":")
    assert len(seconds) == 2 and 0 <= int(seconds) < 60 and str(int(minutes)) == minutes
    assert p["PTS"] == 2 * (p["FGM"] - p["FG3M"]) + 3 * p["FG3M"] + p["FTM"], (gid, p)
    assert 0 <= p["FG3M"] <= p["FG3A"] <= p["FGA"] and p["FG3M"] <= p["FGM"] <= p["FGA"]
    assert 0 <= p["FTM"] <= p["FTA"]
    assert p["REB"] == p["OREB"] + p["DREB"]
    assert p["FG_PCT"] == (round(p["FGM"] / p["FGA"], 3) if p["FGA"] else 0.0)
    assert 0 <= p["PF"] <= 6


def test_schedule_scores_are_the_box_score_totals(gen: Generated) -> None:
    for gid, doc in gen.boxes.items():
        g = gen.games[gid]
        pts = {t["TEAM_ABBREVIATION"]: t["PTS"] for t in _rows(doc, "TeamStats")}
        assert pts == {g["homeTeam"]["teamTricode"]: g["homeTeam"]["score"],
                       g["awayTeam"]["teamTricode"]: g["awayTeam"]["score"]}
        assert gen.box_dates[gid] == date.fromisoformat(g["gameDateEst"][:10])


def test_about_six_percent_of_games_go_to_overtime(gen: Generated) -> None:
    ot = [_rows(d, "TeamStats")[0]["MIN"] != "240:00" for d in gen.boxes.values()]
    assert 0.03 <= sum(ot) / len(ot) <= 0.10


def test_coach_decisions_are_one_or_two_per_team_game(gen: Generated) -> None:
    per_team = [sum(p["COMMENT"] == "DNP - Coach's Decision" for p in _rows(d, "PlayerStats")
                    if p["TEAM_ID"] == t["TEAM_ID"])
                for d in gen.boxes.values() for t in _rows(d, "TeamStats")]
    assert 0.8 <= statistics.mean(per_team) <= 2.2


# ------------------------------------------------------------------------------- the model


def test_stars_starters_and_bench_score_in_their_ranges(gen: Generated) -> None:
    by_team: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for rows in gen.player_games.values():
        on = [r for r in rows if r["MIN"] is not None and r["GAME"][2] == "2"]
        if len(on) >= 30:
            ppg = statistics.mean(r["PTS"] for r in on)
            mpg = statistics.mean(_seconds(r["MIN"]) / 60 for r in on)
            by_team[on[-1]["TEAM_ABBREVIATION"]].append((ppg, mpg))
    stars = [max(v)[0] for v in by_team.values()]
    assert 24.0 <= statistics.mean(stars) <= 31.0
    assert sum(18.0 <= s <= 36.0 for s in stars) >= 27
    rest = [x for v in by_team.values() for x in sorted(v)[:-1]]
    starters = [p for p, m in rest if m >= 27]
    bench = [p for p, m in rest if 15 <= m < 22]
    assert 12.0 <= statistics.mean(starters) <= 20.0
    assert 4.0 <= statistics.mean(bench) <= 8.0


def test_home_teams_score_more(gen: Generated) -> None:
    home, away = [], []
    for g in gen.played():
        home.append(g["homeTeam"]["score"])
        away.append(g["awayTeam"]["score"])
    assert statistics.mean(home) - statistics.mean(away) >= 1.0


def test_back_to_backs_cost_points_for_teams_and_stars(gen: Generated) -> None:
    b2b, rested = [], []
    b2b_dates: set[tuple[str, date]] = set()
    for team, games in _team_games(gen).items():
        for (prev, _), (day, g) in zip(games, games[1:], strict=False):
            side = "homeTeam" if g["homeTeam"]["teamTricode"] == team else "awayTeam"
            if (day - prev).days == 1:
                b2b.append(g[side]["score"])
                b2b_dates.add((team, day))
            else:
                rested.append(g[side]["score"])
    assert len(b2b) >= 100
    assert statistics.mean(rested) - statistics.mean(b2b) >= 1.5
    star_b2b, star_rest = [], []
    for rows in gen.player_games.values():
        on = [r for r in rows if r["MIN"] is not None]
        if len(on) < 40 or statistics.mean(r["PTS"] for r in on) < 22:
            continue
        for r in on:
            flag = (r["TEAM_ABBREVIATION"], r["DATE"]) in b2b_dates
            (star_b2b if flag else star_rest).append(r["PTS"])
    assert statistics.mean(star_rest) > statistics.mean(star_b2b)


def test_teammates_score_more_when_the_star_is_injured(gen: Generated) -> None:
    games = gen.player_games
    team_of = {pid: rows[-1]["TEAM_ABBREVIATION"] for pid, rows in games.items()}
    lifts = []
    for team in sorted(set(team_of.values())):
        mates = {pid: rows for pid, rows in games.items() if team_of[pid] == team}
        ppg = {pid: statistics.mean(r["PTS"] for r in rows if r["MIN"] is not None)
               for pid, rows in mates.items() if sum(r["MIN"] is not None for r in rows) >= 30}
        star = max(ppg, key=lambda pid: ppg[pid])
        out_games = {r["GAME"] for r in mates[star] if "Injury/Illness" in (r["COMMENT"] or "")}
        if len(out_games) < 3:
            continue
        for pid in sorted(ppg, key=lambda k: -ppg[k])[1:4]:
            with_star = [r["PTS"] for r in mates[pid]
                         if r["MIN"] is not None and r["GAME"] not in out_games]
            without = [r["PTS"] for r in mates[pid] if r["GAME"] in out_games and r["MIN"]]
            if len(without) >= 3:
                lifts.append(statistics.mean(without) - statistics.mean(with_star))
    assert len(lifts) >= 10
    assert statistics.mean(lifts) >= 1.0


def test_recent_form_carries_over(gen: Generated) -> None:
    """AR(1) form: a player's points over his last five games predict the next game beyond
    his season average."""
    xs, ys = [], []
    for rows in gen.player_games.values():
        pts = [r["PTS"] for r in rows if r["MIN"] is not None]
        if len(pts) < 40:
            continue
        mean = statistics.mean(pts)
        for i in range(5, len(pts)):
            xs.append(statistics.mean(pts[i - 5:i]) - mean)
            ys.append(pts[i] - mean)
    assert float(np.corrcoef(xs, ys)[0, 1]) > 0.1


# ------------------------------------------------------------------------------- Odds API


def _odds(gen: Generated, source: str) -> dict[str, dict[str, Any]]:
    out = {}
    for path in (gen.root / "raw" / source).glob("*/*.json"):
        doc = json.loads(path.read_text("utf-8"))
        out[doc["data"]["id"]] = {**doc, "_path": path}
    return out


def _games_by_names(gen: Generated) -> dict[tuple[str, str, str], str]:
    """(date, home full name, away full name) → NBA.com game id."""
    return {(g["gameDateEst"][:10], BY_TRICODE[g["homeTeam"]["teamTricode"]].full_name,
             BY_TRICODE[g["awayTeam"]["teamTricode"]].full_name): gid
            for gid, g in gen.games.items() if gid in gen.boxes}


def test_game_lines_have_the_real_shape_and_carry_signal(gen: Generated) -> None:
    real = json.loads((FIXTURES / "oddsapi-historical-game-lines-2024-01-25.json").read_text())
    by_date_teams = {(g["gameDateEst"][:10], g["homeTeam"]["teamTricode"]): g
                     for g in gen.played()}
    spreads, margins, totals, scored = [], [], [], []
    docs = _odds(gen, "oddsapi_game_lines")
    assert len(docs) == len(gen.boxes)
    for eid, doc in docs.items():
        assert doc.keys() - {"_path"} == real.keys()
        data = doc["data"]
        assert data.keys() == real["data"].keys() and data["id"] == eid
        assert doc["_path"].name == f"{eid}_{doc['timestamp'][11:19].replace(':', '')}.json"
        assert doc["timestamp"] < data["commence_time"]
        assert [b["key"] for b in data["bookmakers"]] == ["draftkings", "fanduel"]
        home = next(t.tricode for t in TEAMS if t.full_name == data["home_team"])
        g = by_date_teams[(doc["_path"].parent.name, home)]
        assert data["commence_time"] == g["gameDateTimeUTC"]
        dk = {m["key"]: m["outcomes"] for m in data["bookmakers"][0]["markets"]}
        home_spread = next(o["point"] for o in dk["spreads"] if o["name"] == data["home_team"])
        away_spread = next(o["point"] for o in dk["spreads"] if o["name"] == data["away_team"])
        assert home_spread == -away_spread and home_spread % 1 == 0.5
        spreads.append(-home_spread)
        margins.append(g["homeTeam"]["score"] - g["awayTeam"]["score"])
        totals.append(dk["totals"][0]["point"])
        scored.append(g["homeTeam"]["score"] + g["awayTeam"]["score"])
    assert float(np.corrcoef(spreads, margins)[0, 1]) > 0.3
    assert float(np.corrcoef(totals, scored)[0, 1]) > 0.2
    assert abs(statistics.mean(spreads) - statistics.mean(margins)) < 1.5


def test_player_props_cover_half_the_rotation_with_informative_lines(gen: Generated) -> None:
    real = json.loads((FIXTURES / "oddsapi-player-props-example.json").read_text("utf-8"))
    real_outcome = real["bookmakers"][0]["markets"][0]["outcomes"][0].keys()
    box_by_game = {gid: {p["PLAYER_NAME"]: p for p in _rows(doc, "PlayerStats")}
                   for gid, doc in gen.boxes.items()}
    minutes: dict[str, list[float]] = defaultdict(list)
    for doc in gen.boxes.values():
        for p in _rows(doc, "PlayerStats"):
            minutes[p["PLAYER_NAME"]].append(_seconds(p["MIN"]) / 60 if p["MIN"] else 0.0)
    rotation = {n for n, m in minutes.items() if statistics.mean(m) >= 15}
    lines, actual, shares, differ = [], [], [], []
    index = _games_by_names(gen)
    for doc in _odds(gen, "oddsapi_player_props").values():
        data = doc["data"]
        box = box_by_game[index[(doc["_path"].parent.name, data["home_team"],
                                 data["away_team"])]]
        books = {b["key"]: b for b in data["bookmakers"]}
        assert sorted(books) == ["draftkings", "fanduel"]
        offered: dict[str, dict[str, float]] = defaultdict(dict)
        for key, book in books.items():
            (market,) = book["markets"]
            assert market["key"] == "player_points"
            for o in market["outcomes"]:
                assert o.keys() == real_outcome and o["name"] in ("Over", "Under")
                assert o["point"] % 0.5 == 0 and isinstance(o["price"], int)
                assert key == "fanduel" or o["point"] % 1 == 0.5
                assert o["price"] <= -100 or o["price"] >= 100
                offered[o["description"]][key] = o["point"]
        for name, by_book in offered.items():
            assert name in box, name
            differ.append(by_book["draftkings"] != by_book["fanduel"])
            assert abs(by_book["draftkings"] - by_book["fanduel"]) <= 1.0
            if box[name]["MIN"] is not None:
                lines.append(by_book["draftkings"])
                actual.append(box[name]["PTS"])
        for team in {p["TEAM_ABBREVIATION"] for p in box.values()}:
            eligible = [n for n, p in box.items() if p["TEAM_ABBREVIATION"] == team
                        and n in rotation and "Injury" not in (p["COMMENT"] or "")]
            if eligible:
                shares.append(sum(n in offered for n in eligible) / len(eligible))
    assert 0.35 <= statistics.mean(shares) <= 0.7
    assert 0.1 <= statistics.mean(differ) <= 0.5
    assert float(np.corrcoef(lines, actual)[0, 1]) > 0.45
    assert abs(statistics.mean(lines) - statistics.mean(actual)) < 1.5


# ----------------------------------------------------------------------------- injury report


def test_injury_reports_match_the_box_scores(gen: Generated) -> None:
    real = json.loads((FIXTURES / "nbacom-injury-report-2024-01-04-parsed.json").read_text())
    by_date: dict[date, dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
    for gid, doc in gen.boxes.items():
        for p in _rows(doc, "PlayerStats"):
            by_date[gen.box_dates[gid]][(p["TEAM_ABBREVIATION"], player_lookup(
                p["PLAYER_NAME"]))] = p
    reports = sorted((gen.root / "raw" / "nbacom_injury_report").glob("*/*.json"))
    assert len(reports) == len(by_date)
    status_play: dict[str, list[bool]] = defaultdict(list)
    for path in reports:
        doc = json.loads(path.read_text("utf-8"))
        day = date.fromisoformat(path.parent.name)
        assert doc.keys() == real.keys()
        assert doc["metadata"].keys() == real["metadata"].keys()
        assert path.name == f"{day:%Y%m%d}_{doc['metadata']['hour24']}.json"
        assert doc["parsing_stats"]["total_records"] == len(doc["records"])
        for rec in doc["records"]:
            assert rec.keys() == real["records"][0].keys()
            assert rec["date"] == f"{day:%m/%d/%Y}"
            away, home = rec["matchup"].split("@")
            assert rec["team"] in (away, home)
            p = by_date[day][(rec["team"], player_lookup(rec["player"]))]
            plays = p["MIN"] is not None
            status_play[rec["status"]].append(plays)
            if not plays:
                assert "Injury/Illness" in p["COMMENT"]
        listed = {(r["team"], player_lookup(r["player"])) for r in doc["records"]}
        for key, p in by_date[day].items():
            if "Injury/Illness" in (p["COMMENT"] or ""):
                assert key in listed, (day, key)
    assert not any(status_play["Out"]) and not any(status_play["Doubtful"])
    assert all(status_play["Probable"])
    assert 0.5 < statistics.mean(status_play["Questionable"]) < 1.0
    assert len(status_play["Out"]) > 1000


# ---------------------------------------------------------------------------- balldontlie


def test_balldontlie_files_repeat_the_same_games(gen: Generated) -> None:
    real = json.loads((FIXTURES / "balldontlie-boxscores-2024-01-15.json").read_text("utf-8"))
    real_game, real_line = real["data"][0], real["data"][0]["home_team"]["players"][0]
    game_dates = sorted(set(gen.box_dates.values()))
    files = sorted((gen.root / "raw" / "balldontlie_boxscores").glob("*/box_scores.json"))
    assert [date.fromisoformat(f.parent.name) for f in files] == game_dates[::20]
    for path in files:
        day = date.fromisoformat(path.parent.name)
        todays = [gid for gid, d in gen.box_dates.items() if d == day]
        data = json.loads(path.read_text("utf-8"))["data"]
        assert len(data) == len(todays)
        for game in data:
            assert game.keys() == real_game.keys()
            assert game["date"] == day.isoformat() and game["season"] == 2023
            gid = next(g for g in todays
                       if gen.games[g]["homeTeam"]["teamTricode"] ==
                       game["home_team"]["abbreviation"])
            box = {p["PLAYER_NAME"]: p for p in _rows(gen.boxes[gid], "PlayerStats")}
            assert game["home_team_score"] == gen.games[gid]["homeTeam"]["score"]
            for side in ("home_team", "visitor_team"):
                assert game[side].keys() == real_game[side].keys()
                for line in game[side]["players"]:
                    assert line.keys() == real_line.keys()
                    assert line["player"].keys() == real_line["player"].keys()
                    p = box[f"{line['player']['first_name']} {line['player']['last_name']}"]
                    secs = _seconds(p["MIN"]) if p["MIN"] else 0
                    assert line["min"] == f"{round(secs / 60):02d}"
                    assert line["pts"] == (p["PTS"] or 0) and line["fga"] == (p["FGA"] or 0)


# -------------------------------------------------------------------------------- the league


def test_player_names_are_unique_and_exercise_normalisation() -> None:
    players = build_league(SEASON, 20241022).players()
    names = [p.name for p in players]
    assert len({player_lookup(n) for n in names}) == len(names)
    assert len({p.player_id for p in players}) == len(players)
    assert any(not n.isascii() for n in names)
    assert any("'" in n for n in names)
    assert any(n.endswith((" Jr.", " II", " III", " IV", " Sr.")) for n in names)
    for p in players:  # the injury-report form maps back to the same lookup
        assert player_lookup(p.report_name) == player_lookup(p.name)


def test_rosters_carry_over_between_seasons_with_some_turnover() -> None:
    before = build_league("2022-23", 20241022)
    after = build_league("2023-24", 20241022)
    team_before = {p.player_id: t for t, ps in before.rosters.items() for p in ps}
    team_after = {p.player_id: t for t, ps in after.rosters.items() for p in ps}
    kept = team_before.keys() & team_after.keys()
    assert 0.8 <= len(kept) / len(team_before) < 1.0
    moved = sum(team_before[p] != team_after[p] for p in kept)
    assert 0.05 <= moved / len(kept) <= 0.25
    strength = [(before.ratings[t].off, after.ratings[t].off) for t in sorted(before.ratings)]
    assert float(np.corrcoef(*zip(*strength, strict=True))[0, 1]) > 0.3
