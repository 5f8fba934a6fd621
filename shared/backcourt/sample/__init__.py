"""Deterministic synthetic NBA league that writes raw files in the real source formats.

``generate_season(bucket, season, seed=…)`` plays one season and writes, at the paths of
``backcourt.sources.layout``: the NBA.com schedule, one NBA.com box score per competitive game,
a balldontlie box_scores file on every 20th game date (same games, minutes rounded), Odds API
spreads/totals and player_points snapshots per game, one NBA.com shotchartdetail per game (every
field-goal attempt of the box score, placed on the court) and one parsed NBA.com injury report
per game date. Same season and seed → byte-identical files.

Calendar. Game ids and dates are the real ones (``backcourt/data``). 2021-22 … 2023-24 get
generated matchups (82 games per team, 41 at home, never two games a day; play-in and playoffs
among the best teams of the generated standings, series as long as the real ones). 2024-25 keeps
the real schedule file unchanged, and its box scores add up to the real final scores.

The league model (what later phases should be able to find):

* 30 teams with offence, defence (points per 100 possessions against the league) and pace,
  persisting from season to season with drift (2024-25: offence/defence fitted to the real
  scores, pace 100).
* 15 players per team with stable ids and unique fake names (accents, apostrophes, hyphens and
  suffixes such as "Jr." included), a skill (points per 36 minutes), a role by skill rank
  (star 36 min, 4 starters ~31, 4 rotation ~18, 3 bench ~8, 3 deep bench ~3.5 and usually
  benched; minutes are scaled so a team plays exactly 240 + 25 per overtime) and a shooting
  profile (share of points from threes and free throws by position). Rosters carry over
  seasons: ageing and skill drift, retirements replaced by rookies, about 27 swaps between
  teams per off-season.
* Team score: pace · (league efficiency + offence − opponent defence)/100, +1.25 at home and
  −1.25 away (0 on a neutral floor), −2.5 on the second night of a back-to-back, +0.8 after two
  or more days off, −0.18 per expected point of the team's players who are out, plus noise
  (sd 10 and a shared pace shock). About 6 % of games go to overtime (25 player-minutes each).
* A player's points are his share of the team score: skill × minutes × exp(form) × usage boost,
  through a Dirichlet-multinomial (noisy shares that add up exactly). Form is AR(1) (0.8, sd
  0.13) per game played. Injured teammates' usage shifts to the others, most to the three best
  remaining scorers. Stars and starters play 3 minutes less on back-to-backs and 15 % less in
  blowouts (margin ≥ 18); the bench plays those minutes. Stars average ~25-30 points,
  starters ~12-20, rotation ~4-8.
* Injuries: each healthy player starts a spell with probability 1.8 % per team game, lasting
  2-7 days (55 %), 8-21 (33 %) or 22-60 (12 %). He is listed Out (Doubtful on the spell's last
  day) and gets a DNP ("DNP - Injury/Illness - Left Ankle; Sprain", or "DND - Injury/Illness"
  for spells over two weeks); on return he is listed Questionable or Probable and plays. Minor
  knocks list a few more players Probable (they play) or Questionable (70 % play, else DNP).
  About 1-2 coach's-decision DNPs per team per game (deep bench; never a listed player).
* Shots (``backcourt.sample.shots``, drawn from streams of their own so the box scores are
  unchanged): each player's FGA/FGM/FG3A/FG3M split exactly into shots; a persistent player
  profile (paint / mid-range share of his twos, corner share of his threes) and a persistent,
  drifting team zone defence (paint, mid-range, three) that moves opponents' shot mix and which
  of their made twos are paint shots, so zone FG% allowed differs by team.
* Books: spreads and totals from the true expected scores (so they carry signal); player
  points lines from recent scoring only (see ``backcourt.sample.market``) for about half of
  each team's rotation players (≥ 15 minutes) not ruled out.
"""

from backcourt.sample.generate import SampleSummary, generate_season
from backcourt.sample.league import SEASONS

__all__ = ["SEASONS", "SampleSummary", "generate_season"]
