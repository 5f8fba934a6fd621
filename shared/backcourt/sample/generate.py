"""``generate_season``: play one season of the synthetic league and write its raw files."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources

from backcourt.domain.errors import BadInput
from backcourt.domain.ids import season_start_year
from backcourt.ports import Bucket
from backcourt.sample import formats
from backcourt.sample.league import SEASONS, League, build_league, stream
from backcourt.sample.schedule import schedule_document
from backcourt.sample.season import SeasonSim, fit_ratings
from backcourt.sample.shots import ShotMaker
from backcourt.sample.sim import GameResult
from backcourt.sample.slate import (
    play_in_first,
    play_in_second,
    playoffs,
    real_fixtures,
    regular_season,
    season_ids,
)
from backcourt.sample.static import TEAM_INFO
from backcourt.sources import layout

REAL_SEASON = "2024-25"
REAL_SCHEDULE = "nbacom-schedule-2024-25.json.gz"
BDL_EVERY = 20  # every 20th game date also gets a balldontlie file
DEFAULT_SEED = 20241022


@dataclass(frozen=True)
class SampleSummary:
    """What one ``generate_season`` call wrote."""

    season: str
    games: int  # games with a box score (regular, cup final, play-in, playoffs)
    dates: int  # dates with such games
    files: Mapping[str, int]  # files written per raw source
    players: int  # players on the season's rosters


def generate_season(bucket: Bucket, season: str, *, seed: int = DEFAULT_SEED) -> SampleSummary:
    """Generate one season of the synthetic league into ``bucket``, deterministically.

    Args:
        bucket: where the raw files go (paths of ``backcourt.sources.layout``).
        season: one of ``SEASONS``.
        seed: the same seed and season always give byte-identical files.
    Returns:
        Counts of games, dates, files per source and players.
    Raises:
        BadInput: the season is not one the generator supports.
    """
    if season not in SEASONS:
        raise BadInput(f"unknown sample season {season!r}: supported seasons are "
                       f"{', '.join(SEASONS)}")
    league = build_league(season, seed)
    if season == REAL_SEASON:
        raw = real_schedule_bytes()
        fixtures = real_fixtures(json.loads(raw))
        league = fit_ratings(league, fixtures)
        sim = SeasonSim(league, seed)
        sim.play(fixtures)
        schedule = raw
    else:
        sim = _play_generated(league, seed)
        year = season_start_year(season)
        schedule = schedule_document(season, sim.results, season_ids(season, "3"),
                                     stream(seed, year, "all-star"))
    files = _write(bucket, season, sim, schedule, ShotMaker(league, seed))
    return SampleSummary(season, len(sim.results),
                         len({r.fixture.game_date for r in sim.results}), files,
                         len(league.players()))


def real_schedule_bytes() -> bytes:
    """The real 2024-25 NBA.com schedule shipped with the package, decompressed."""
    blob = resources.files("backcourt").joinpath("data", REAL_SCHEDULE).read_bytes()
    return gzip.decompress(blob)


def _play_generated(league: League, seed: int) -> SeasonSim:
    season = league.season
    year = season_start_year(season)
    sim = SeasonSim(league, seed)
    sim.play(regular_season(season, stream(seed, year, "schedule")))
    table = standings(sim.results)
    seeds = {conf: [t for t in table if TEAM_INFO[t].conference == conf][:10]
             for conf in ("East", "West")}
    first = sim.play(play_in_first(season, seeds))
    winners = {f"{r.fixture.sub_label}{'78' if r.fixture.home_seed == 7 else '910'}": r.winner
               for r in first}
    second = sim.play(play_in_second(season, seeds, winners))
    final = {conf: seeds[conf][:6] + [winners[f"{conf}78"]]
             + [r.winner for r in second if r.fixture.sub_label == conf] for conf in seeds}
    strength = {t: r.off + r.defense for t, r in league.ratings.items()}
    rank = {t: i + 1 for i, t in enumerate(table)}
    sim.play(playoffs(season, final, strength, rank, stream(seed, year, "playoffs")))
    return sim


def standings(results: Sequence[GameResult]) -> list[str]:
    """Teams by regular-season wins, then point difference, then tricode."""
    wins: dict[str, int] = defaultdict(int)
    diff: dict[str, int] = defaultdict(int)
    for r in results:
        if r.fixture.type_digit != "2":
            continue
        wins[r.winner] += 1
        for side, other in ((r.home, r.away), (r.away, r.home)):
            diff[side.tricode] += side.points - other.points
            wins[side.tricode] += 0
    return sorted(wins, key=lambda t: (-wins[t], -diff[t], t))


def _write(bucket: Bucket, season: str, sim: SeasonSim, schedule: bytes, shot_maker: ShotMaker
           ) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)

    def put(source: str, path: str, body: bytes) -> None:
        bucket.write(path, body)
        counts[source] += 1

    put("nbacom_schedule", layout.schedule_path(season), schedule)
    by_day: dict[date, list[GameResult]] = defaultdict(list)
    charts = shot_maker.charts(sim.results)
    for r, shots in zip(sim.results, charts, strict=True):
        by_day[r.fixture.game_date].append(r)
        day, gid = r.fixture.game_date, r.fixture.nba_game_id
        put("nbacom_boxscore", layout.raw_path("nbacom_boxscore", day, f"{gid}.json"),
            formats.boxscore(r))
        market = sim.markets[gid]
        name, body = formats.game_lines(r, market)
        put("oddsapi_game_lines", layout.raw_path("oddsapi_game_lines", day, name), body)
        name, body = formats.player_props(r, market)
        put("oddsapi_player_props", layout.raw_path("oddsapi_player_props", day, name), body)
        put("nbacom_shotchart", layout.raw_path("nbacom_shotchart", day, f"{gid}.json"),
            formats.shot_chart(r, shots))
    for i, day in enumerate(sorted(by_day)):
        games = by_day[day]
        hour = formats.report_hour([r.fixture.tip for r in games])
        put("nbacom_injury_report",
            layout.raw_path("nbacom_injury_report", day, f"{day:%Y%m%d}_{hour:02d}.json"),
            formats.injury_report(day, season, hour, sim.reports.get(day, [])))
        if i % BDL_EVERY == 0:
            put("balldontlie_boxscores",
                layout.raw_path("balldontlie_boxscores", day, "box_scores.json"),
                formats.balldontlie(games))
    return dict(sorted(counts.items()))
