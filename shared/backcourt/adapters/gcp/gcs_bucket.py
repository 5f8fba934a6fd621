"""``Bucket`` on Google Cloud Storage: raw files, quarantine, model artifacts and exports.

The client is created on first use (never at import or construction), with an explicit project.
SDK errors are mapped to the error tree: 404 → FileNotFoundError (as the port says), 429/5xx
and timeouts → TransientError, other API errors → TerminalError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from backcourt.domain.errors import TerminalError, TransientError

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
