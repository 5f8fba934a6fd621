"""``Bucket`` on Google Cloud Storage: raw files, quarantine, model artifacts and exports.

The client is created on first use (never at import or construction), with an explicit project.
SDK errors are mapped to the error tree: 404 → FileNotFoundError (as the port says), 429/5xx
and timeouts → TransientError, other API errors → TerminalError.

Versions: the bucket has Object Versioning on (``versioning { enabled = true }`` in
``terraform/modules/raw_bucket/main.tf``), so an overwrite keeps the previous generation as a
noncurrent version; ``versions`` lists them (``list_blobs(versions=True)``) and ``read_version``
reads one by generation. Google's docs
(https://cloud.google.com/storage/docs/object-versioning): "Cloud Storage retains a noncurrent
object version each time you replace or delete a live object version, as long as you don't
specify the generation number of the live version." The bucket's lifecycle deletes noncurrent
versions after ``noncurrent_retention_days`` (default 30).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from backcourt.domain.errors import TerminalError, TransientError
from backcourt.ports import ObjectVersion

T = TypeVar("T")


def _clean(path: str) -> str:
    name = path.strip().lstrip("/")
    if not name or ".." in name.split("/"):
        raise TerminalError(f"bad object path {path!r}")
    return name


class GcsBucket:
    """One GCS bucket behind the ``Bucket`` port."""

    def __init__(self, project: str, bucket: str, *, client: Any | None = None) -> None:
        """Args:
            project: the project the client bills to.
            bucket: the bucket name.
            client: a ``google.cloud.storage.Client`` (tests); created lazily otherwise.
        """
        if not bucket:
            raise TerminalError("GcsBucket needs a bucket name")
        self.project = project
        self.name = bucket
        self._client = client
        self._bucket: Any | None = None

    def _b(self) -> Any:
        if self._bucket is None:
            if self._client is None:
                from google.cloud import storage  # type: ignore[attr-defined, unused-ignore]

                self._client = storage.Client(project=self.project)
            self._bucket = self._client.bucket(self.name)
        return self._bucket

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        from google.api_core import exceptions as gexc

        try:
            return fn()
        except gexc.NotFound:
            raise FileNotFoundError(f"gs://{self.name}/{what}") from None
        except (gexc.TooManyRequests, gexc.ServerError, gexc.RetryError,
                TimeoutError, ConnectionError) as exc:
            raise TransientError(f"GCS {what}: {exc}") from exc
        except gexc.GoogleAPICallError as exc:
            raise TerminalError(f"GCS {what}: {exc}") from exc

    def write(self, path: str, data: bytes) -> None:
        """Write (or overwrite) an object."""
        name = _clean(path)
        self._call(name, lambda: self._b().blob(name).upload_from_string(data))

    def read(self, path: str) -> bytes:
        """Read an object. Raises FileNotFoundError when absent."""
        name = _clean(path)
        data: bytes = self._call(name, lambda: self._b().blob(name).download_as_bytes())
        return data

    def list(self, prefix: str) -> list[str]:
        """Paths under a prefix, sorted."""
        pre = prefix.lstrip("/")
        names: list[str] = self._call(
            pre or "/", lambda: [b.name for b in self._b().list_blobs(prefix=pre)])
        return sorted(n for n in names if not n.endswith("/"))

    def exists(self, path: str) -> bool:
        """Whether an object exists."""
        name = _clean(path)
        found: bool = self._call(name, lambda: bool(self._b().blob(name).exists()))
        return found

    def move(self, src: str, dst: str) -> None:
        """Move an object (copy then delete; used to quarantine bad raw files)."""
        a, b = _clean(src), _clean(dst)
        bucket = self._b()

        def _move() -> None:
            blob = bucket.blob(a)
            bucket.copy_blob(blob, bucket, b)
            blob.delete()

        self._call(a, _move)

    def versions(self, path: str) -> builtins.list[ObjectVersion]:
        """Every kept generation of an object, oldest first; the live one last."""
        name = _clean(path)
        blobs: list[Any] = self._call(name, lambda: [
            b for b in self._b().list_blobs(prefix=name, versions=True) if b.name == name])
        out = [ObjectVersion(path, int(b.generation), b.updated or datetime.now(UTC),
                             int(b.size or 0), b.time_deleted is None) for b in blobs]
        out.sort(key=lambda v: v.generation)
        live = [v for v in out if v.live]  # only the newest undeleted generation is live
        return [ObjectVersion(v.path, v.generation, v.updated, v.size,
                              bool(live) and v is live[-1]) for v in out]

    def read_version(self, path: str, generation: int) -> bytes:
        """Read one generation of an object. Raises FileNotFoundError when it is not kept."""
        name = _clean(path)
        data: bytes = self._call(f"{name}#{generation}", lambda: self._b().blob(
            name, generation=generation).download_as_bytes())
        return data
