"""PubSubWorkQueue against Google's Pub/Sub emulator: publish a batch, pull it back, check the
bodies parse as the same work messages and carry the run_id / phase attributes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from google.cloud import pubsub_v1

from backcourt.adapters.gcp.pubsub_queue import PubSubWorkQueue
from backcourt.domain.errors import TerminalError
from backcourt.domain.messages import make_message, parse_message

pytestmark = pytest.mark.emulator

PROJECT = "backcourt-test"


def test_publish_a_batch_and_pull_it_back(pubsub_emulator: str) -> None:
    topic_id, sub_id = f"work-{uuid.uuid4().hex[:8]}", f"pull-{uuid.uuid4().hex[:8]}"
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic = publisher.create_topic(name=publisher.topic_path(PROJECT, topic_id)).name
    sub = subscriber.create_subscription(
        name=subscriber.subscription_path(PROJECT, sub_id), topic=topic).name
    try:
        start = date(2025, 1, 1)
        messages = [make_message(f"run-{i % 2}", "3" if i % 3 else "2",
                                 ["player_game_summary"] if i % 3 else ["player_boxscores"],
                                 start + timedelta(days=i), start + timedelta(days=i + 1))
                    for i in range(7)]
        queue = PubSubWorkQueue(PROJECT, topic_id, batch_size=3)  # 3 batches: 3 + 3 + 1
        ids = queue.publish(messages)
        assert len(ids) == 7 and len(set(ids)) == 7

        got = []
        for _ in range(20):
            reply = subscriber.pull(subscription=sub, max_messages=10, timeout=10)
            got += reply.received_messages
            if reply.received_messages:
                subscriber.acknowledge(subscription=sub,
                                       ack_ids=[m.ack_id for m in reply.received_messages])
            if len(got) >= 7:
                break
        by_id = {r.message.message_id: r.message for r in got}
        assert sorted(by_id) == sorted(ids)
        for msg_id, sent in zip(ids, messages, strict=True):
            pulled = by_id[msg_id]
            assert parse_message(pulled.data) == sent
            assert dict(pulled.attributes) == {"run_id": sent.run_id, "phase": sent.phase.value}
    finally:
        subscriber.delete_subscription(subscription=sub)
        publisher.delete_topic(topic=topic)
        subscriber.close()


def test_publishing_to_a_missing_topic_is_terminal(pubsub_emulator: str) -> None:
    queue = PubSubWorkQueue(PROJECT, f"absent-{uuid.uuid4().hex[:8]}")
    msg = make_message("run-1", "3", ["player_game_summary"], date(2025, 1, 1), date(2025, 1, 1))
    with pytest.raises(TerminalError, match="absent-"):
        queue.publish([msg])
