"""Model artifacts in the bucket, one folder per weekly cutoff, written once and never changed::

    models/gradient_boosting/<cutoff>/model.txt       LightGBM text dump
    models/gradient_boosting/<cutoff>/metadata.json   cutoff, rows, features, params, metrics

``model.txt`` is written first and ``metadata.json`` last: an artifact exists when its
metadata does, so a crash between the two writes leaves no half artifact behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import lightgbm as lgb

from backcourt.domain.errors import TerminalError
from backcourt.models import gbm
from backcourt.ports import Bucket

PREFIX = f"models/{gbm.SYSTEM_ID}"


@dataclass(frozen=True)
class Artifact:
    """A loaded (or freshly trained) model and its metadata."""

    cutoff: date
    booster: lgb.Booster
    metadata: dict[str, Any]

    @property
    def version(self) -> str:
        """The ``model_version`` of predictions made with it: the cutoff, ISO."""
        return self.cutoff.isoformat()


def model_path(cutoff: date) -> str:
    """Bucket path of the model text for a cutoff."""
    return f"{PREFIX}/{cutoff.isoformat()}/model.txt"


def metadata_path(cutoff: date) -> str:
    """Bucket path of the metadata for a cutoff."""
    return f"{PREFIX}/{cutoff.isoformat()}/metadata.json"


def save(bucket: Bucket, cutoff: date, booster: lgb.Booster,
         metadata: dict[str, Any]) -> Artifact:
    """Write an artifact (model first, metadata last) and return it."""
    bucket.write(model_path(cutoff), gbm.to_text(booster).encode("utf-8"))
    text = json.dumps(metadata, indent=2, sort_keys=True, default=str)
    bucket.write(metadata_path(cutoff), text.encode("utf-8"))
    return Artifact(cutoff, booster, metadata)


def load(bucket: Bucket, cutoff: date) -> Artifact | None:
    """The artifact of a cutoff, or None when it has no metadata.json.

    Raises:
        TerminalError: the metadata is unreadable, the model file is missing, or the artifact was
            trained on another feature list than the catalog's (delete the folder to retrain).
    """
    if not bucket.exists(metadata_path(cutoff)):
        return None
    try:
        metadata = json.loads(bucket.read(metadata_path(cutoff)))
        text = bucket.read(model_path(cutoff)).decode("utf-8")
    except (ValueError, FileNotFoundError) as exc:
        raise TerminalError(f"model artifact {PREFIX}/{cutoff} is broken: {exc}") from exc
    _check_features(cutoff, metadata)
    return Artifact(cutoff, gbm.from_text(text), metadata)


def _check_features(cutoff: date, metadata: dict[str, Any]) -> None:
    stored = [f.get("column") for f in metadata.get("features", [])]
    if stored != gbm.feature_names():
        raise TerminalError(
            f"model artifact {PREFIX}/{cutoff} was trained on features {stored}, the catalog now "
            f"has {gbm.feature_names()}: delete {PREFIX}/ to retrain")


def cutoffs(bucket: Bucket) -> list[date]:
    """Cutoffs that have a complete artifact (metadata.json), oldest first."""
    out = []
    for path in bucket.list(f"{PREFIX}/"):
        parts = path.split("/")
        if len(parts) == 4 and parts[3] == "metadata.json":
            try:
                out.append(date.fromisoformat(parts[2]))
            except ValueError:
                continue
    return sorted(set(out))


def newest_on_or_before(bucket: Bucket, day: date) -> date | None:
    """The newest cutoff ≤ ``day`` with an artifact, or None."""
    eligible = [c for c in cutoffs(bucket) if c <= day]
    return eligible[-1] if eligible else None
