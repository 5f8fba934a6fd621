"""Phase-6 manifest: one row per JSON file published to the bucket, so exports are gated and
counted like every other output."""

from __future__ import annotations

from backcourt.domain.schema import Table, col

EXPORT_FILES = Table(
    "nba_exports", "export_files",
    (
        col("game_date", "DATE", required=True),
        col("kind", "STRING", "predictions | results | best-bets", True),
        col("path", "STRING", "bucket path, exports/v1/<kind>/<date>.json", True),
        col("sha256", "STRING", "digest of the published bytes", True),
        col("records", "INT64", "entries in the file", True),
    ),
    key=("game_date", "kind"),
)
