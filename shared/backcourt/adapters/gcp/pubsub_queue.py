"""The work queue on Pub/Sub: publishes work messages with attributes ``run_id`` and ``phase``.

The publisher client is created on first use, with batching settings so a plan's messages go
out in few requests. SDK errors are mapped: 429/5xx/timeouts → TransientError, others →
TerminalError. ``PUBSUB_EMULATOR_HOST`` is honoured by the stock client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backcourt.domain.errors import TerminalError, TransientError
from backcourt.domain.messages import WorkMessage

BATCH_MESSAGES = 100
"""Messages per publish request."""
PUBLISH_TIMEOUT_S = 60.0
"""How long to wait for the server to acknowledge one batch."""


class PubSubWorkQueue:
    """Publishes work messages to one topic."""

    def __init__(self, project: str, topic: str, *, publisher: Any | None = None,
                 batch_size: int = BATCH_MESSAGES) -> None:
        """Args:
            project: the topic's project.
            topic: the topic id (not the full path).
            publisher: a ``pubsub_v1.PublisherClient`` (tests); created lazily otherwise.
            batch_size: messages per publish request.
        """
        if not project or not topic:
            raise TerminalError("PubSubWorkQueue needs a project and a topic")
        if batch_size < 1:
            raise TerminalError(f"bad batch size {batch_size}: must be at least 1")
        self.project = project
        self.topic = topic
        self.batch_size = batch_size
        self._publisher = publisher

    @property
    def topic_path(self) -> str:
        """``projects/{project}/topics/{topic}``."""
        return f"projects/{self.project}/topics/{self.topic}"

    def _client(self) -> Any:
        if self._publisher is None:
            from google.cloud import pubsub_v1  # type: ignore[attr-defined, unused-ignore]

            settings = pubsub_v1.types.BatchSettings(max_messages=self.batch_size,
                                                     max_latency=0.05)
            self._publisher = pubsub_v1.PublisherClient(batch_settings=settings)
        return self._publisher

    def publish(self, messages: Sequence[WorkMessage]) -> list[str]:
        """Publish messages in batches; returns the server's message ids, in order.

        Raises:
            TransientError: the service was unavailable or timed out (publish again: the
                consumer is idempotent per date).
            TerminalError: the topic does not exist, permission denied, or a bad request.
        """
        from google.api_core import exceptions as gexc

        client = self._client()
        ids: list[str] = []
        for i in range(0, len(messages), self.batch_size):
            batch = messages[i: i + self.batch_size]
            try:
                futures = [client.publish(self.topic_path, m.to_json(), **m.attributes())
                           for m in batch]
                ids += [str(f.result(timeout=PUBLISH_TIMEOUT_S)) for f in futures]
            except (gexc.TooManyRequests, gexc.ServerError, gexc.RetryError,
                    gexc.DeadlineExceeded, TimeoutError) as exc:
                raise TransientError(f"publish to {self.topic_path}: {exc}") from exc
            except gexc.GoogleAPICallError as exc:
                raise TerminalError(f"publish to {self.topic_path}: {exc}") from exc
        return ids
