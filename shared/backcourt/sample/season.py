"""A season played date by date: injury reports, bookmakers, then the games, in that order, so
that lines only ever use what happened before."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from backcourt.domain.ids import season_start_year
from backcourt.sample.league import League, Player, TeamRating, stream
from backcourt.sample.market import (
    GameMarket,
    bookmaker_estimate,
    choose_offered,
    game_lines,
    props_for_team,
    snapshot,
)
from backcourt.sample.sim import (
    FORM_RHO,
    FORM_SD,
    GameResult,
    Listing,
    PlayerState,
    Side,
    expected_points,
    listings,
    missing_points,
    play_side,
    priors,
    team_scores,
)
from backcourt.sample.slate import Fixture


@dataclass(frozen=True)
class ReportEntry:
    """One line of a date's injury report."""

    fixture: Fixture
    team: str
    listing: Listing


class SeasonSim:
    """The mutable state of one season and everything it produced."""

    def __init__(self, league: League, seed: int) -> None:
        year = season_start_year(league.season)
        self.league = league
        self.rng_injury = stream(seed, year, "injuries")
        self.rng_game = stream(seed, year, "games")
        self.rng_market = stream(seed, year, "market")
        self.states = {p.player_id: PlayerState() for p in league.players()}
        self.prior = priors(league)
        self.last_game: dict[str, date] = {}
        self.results: list[GameResult] = []
        self.reports: dict[date, list[ReportEntry]] = defaultdict(list)
        self.markets: dict[str, GameMarket] = {}

    def play(self, fixtures: Sequence[Fixture]) -> list[GameResult]:
        """Play the fixtures in date and tip order; returns their results in that order."""
        by_day: dict[date, list[Fixture]] = defaultdict(list)
        for fx in fixtures:
            by_day[fx.game_date].append(fx)
        out = []
        for day in sorted(by_day):
            out += self._day(day, sorted(by_day[day], key=lambda f: (f.tip, f.nba_game_id)))
        return out

    def _day(self, day: date, games: list[Fixture]) -> list[GameResult]:
        listed: dict[str, list[Listing]] = {}
        for fx in games:
            for team in (fx.away, fx.home):
                listed[team] = listings(self.rng_injury, self.states,
                                        self.league.rosters[team], day)
                self.reports[day] += [ReportEntry(fx, team, x) for x in listed[team]]
        return [self._game(fx, listed) for fx in games]

    def _rest(self, team: str, day: date) -> int | None:
        last = self.last_game.get(team)
        return None if last is None else (day - last).days - 1

    def _game(self, fx: Fixture, listed: Mapping[str, list[Listing]]) -> GameResult:
        lg, rosters = self.league, self.league.rosters
        absent = {t: {x.player.player_id: x.comment for x in listed[t] if not x.plays}
                  for t in (fx.home, fx.away)}
        rest = {t: self._rest(t, fx.game_date) for t in (fx.home, fx.away)}
        where = {fx.home: None if fx.neutral else True, fx.away: None if fx.neutral else False}
        exp = {
            t: expected_points(lg, t, o, home=where[t], rest=rest[t],
                               missing=missing_points(rosters[t], absent[t], self.prior))
            for t, o in ((fx.home, fx.away), (fx.away, fx.home))
        }
        self.markets[fx.nba_game_id] = self._market(fx, listed, exp[fx.home], exp[fx.away])
        h, a, ot = team_scores(self.rng_game, fx, exp[fx.home], exp[fx.away])
        sides = {t: Side(t, rosters[t], absent[t],
                         frozenset(x.player.player_id for x in listed[t] if x.plays),
                         self._form(rosters[t]))
                 for t in (fx.home, fx.away)}
        home = play_side(self.rng_game, sides[fx.home], h, h - a, ot, rest[fx.home] == 0)
        away = play_side(self.rng_game, sides[fx.away], a, a - h, ot, rest[fx.away] == 0)
        result = GameResult(fx, home, away, ot)
        self._remember(result)
        return result

    def _form(self, roster: Sequence[Player]) -> np.ndarray:
        form: np.ndarray = np.exp(np.array([self.states[p.player_id].form for p in roster]))
        return form

    def _market(self, fx: Fixture, listed: Mapping[str, list[Listing]], eh: float,
                ea: float) -> GameMarket:
        rng = self.rng_market
        lines_at = snapshot(rng, fx.tip, 3.0)
        lines = game_lines(rng, lines_at, eh, ea)
        props_at = snapshot(rng, fx.tip, 2.0)
        props = []
        for team in (fx.away, fx.home):
            ruled_out = {x.player.player_id for x in listed[team]
                         if x.status in ("Out", "Doubtful")}
            candidates = [
                (p, bookmaker_estimate(self.states[p.player_id].points,
                                       self.prior[p.player_id]))
                for p in self.league.rosters[team] if p.player_id not in ruled_out
            ]
            props += props_for_team(rng, props_at, choose_offered(candidates))
        return GameMarket(lines_at, lines, props_at, tuple(props))

    def _remember(self, result: GameResult) -> None:
        self.results.append(result)
        day = result.fixture.game_date
        for side in (result.home, result.away):
            self.last_game[side.tricode] = day
            played = [ln for ln in side.lines if ln.played]
            shocks = self.rng_game.normal(0.0, FORM_SD, len(played))
            for ln, shock in zip(played, shocks, strict=True):
                st = self.states[ln.player.player_id]
                st.points.append(ln.pts)
                st.form = FORM_RHO * st.form + float(shock)


def fit_ratings(league: League, fixtures: Sequence[Fixture]) -> League:
    """Team ratings (pace 100) and league efficiency fitted to real regular-season scores."""
    scored: dict[str, list[int]] = defaultdict(list)
    allowed: dict[str, list[int]] = defaultdict(list)
    for f in fixtures:
        if f.type_digit != "2" or f.forced_score is None:
            continue
        h, a = f.forced_score
        scored[f.home].append(h)
        allowed[f.home].append(a)
        scored[f.away].append(a)
        allowed[f.away].append(h)
    every = [x for xs in scored.values() for x in xs]
    mean = sum(every) / len(every)
    ratings = {
        t: TeamRating(0.85 * (sum(scored[t]) / len(scored[t]) - mean),
                      0.85 * (mean - sum(allowed[t]) / len(allowed[t])), 100.0)
        for t in sorted(scored)
    }
    return replace(league, ratings=ratings, base_efficiency=mean)
