"""backcourt: a schedule-aware NBA player-prop analytics pipeline.

The core package shared by the CLI, the Cloud Functions and the tests. See ARCHITECTURE in the
README for the layout: ``domain`` is pure, ``services`` are the use cases, ``adapters`` hold every
client of DuckDB, SQLite and Google Cloud.
"""

__version__ = "0.1.0"
