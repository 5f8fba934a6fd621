"""The daily run's chains, defined once: ``workflows/daily.workflows.yaml`` (the cloud) and
``backcourt daily`` (the local run) run exactly these (tests/unit/test_workflows.py reads the
YAML and compares).

The trigger resolves the dates once, in America/New_York (``services.protocol.resolve_daily``):
``post_game_date`` is yesterday, ``pre_game_date`` today. Each chain is one backfill over its one
date, ``force``d, phases in order; the pre-game chain runs even when the post-game chain did not
finish cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass

from backcourt.domain.registry import PROCESSORS, Phase


@dataclass(frozen=True)
class Chain:
    """One chain of the daily run: a backfill of ``phases`` over the date named ``date_key``."""

    name: str
    date_key: str
    """The key of the date in ``resolve_daily``'s answer (the daily workflow's argument)."""
    phases: tuple[Phase, ...]
    processors: tuple[str, ...] | None = None
    """Only these processors of those phases (None: all of them)."""
    force: bool = True
    """Recompute the date even when it already succeeded (a daily run refreshes it)."""


PRE_GAME = ("upcoming_team_game_context", "upcoming_player_game_context")
"""The phase-3 processors that run before a date's games (the others read its box scores)."""


DAILY_CHAINS: tuple[Chain, ...] = (
    # Results of yesterday's games: raw → analytics → grading → exports.
    Chain("post_game", "post_game_date",
          (Phase.RAW, Phase.ANALYTICS, Phase.GRADING, Phase.EXPORTS)),
    # Today's games, before they are played: upcoming contexts → precompute → predictions.
    # Only what reads nothing of today's results: the exports of a date read its grading, so
    # they are published by the next post-game chain.
    Chain("pre_game", "pre_game_date",
          (Phase.ANALYTICS, Phase.PRECOMPUTE, Phase.PREDICTIONS),
          PRE_GAME + tuple(p.name for p in PROCESSORS
                           if p.phase in (Phase.PRECOMPUTE, Phase.PREDICTIONS))),
)
"""The chains in the order they run."""
