"""Turns the BigQuery GCP-semantics layer on in a whole process (``python`` imports
``sitecustomize`` at start-up when it is on ``sys.path``): put this folder on ``PYTHONPATH``
and set ``BACKCOURT_GCP_SEMANTICS_BQ_DIR`` (see ``tests/gcp_semantics/bigquery.py``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

if os.environ.get("BACKCOURT_GCP_SEMANTICS_BQ_DIR"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/
    from gcp_semantics.bigquery import install_from_env

    install_from_env()
