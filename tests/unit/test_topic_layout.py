"""How each topic is made: enough partitions for several workers of a service to share it,
events kept for good (any view can be rebuilt from them), dead letters for the broker's
default retention, the event-log counts compacted on one partition."""

import dataclasses

from backbone import kafka
from backbone.consumer import dead_letter_topic
from backbone.events.catalogue import TOPICS
from backbone.log_counts import TOPIC as COUNTS
from backbone.settings import Settings


def test_by_default_topics_have_six_partitions(monkeypatch):
    monkeypatch.delenv("KAFKA_TOPIC_PARTITIONS", raising=False)
    assert Settings.from_env().topic_partitions == 6
    monkeypatch.setenv("KAFKA_TOPIC_PARTITIONS", "12")
    assert Settings.from_env().topic_partitions == 12


def test_every_event_topic_keeps_its_events_for_good_with_the_configured_partitions():
    settings = dataclasses.replace(Settings(), topic_partitions=8)
    for topic in TOPICS:
        assert kafka.topic_layout(settings, topic) == (8, {"retention.ms": "-1"})


def test_dead_letters_are_kept_for_the_broker_s_default_time():
    topic = dead_letter_topic("casework")
    assert topic.startswith(kafka.DEAD_LETTER_PREFIX)
    assert kafka.topic_layout(Settings(), topic) == (Settings().topic_partitions, {})


def test_the_event_log_counts_are_one_compacted_partition():
    assert kafka.topic_layout(Settings(), COUNTS) == (1, {"cleanup.policy": "compact"})
