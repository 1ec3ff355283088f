"""The directory as `make run` starts it: the seed directory is loaded on first start,
and an editor's change over HTTP reaches Kafka with who made it and when."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests

from backbone.events.catalogue import topic_of
from backbone.events.envelope import decode
from services.directory.seed import REFUGES, seed_services
from tests.background import wait_for
from tests.e2e.stack import Stack
from tests.kafka_reader import read_topic

pytestmark = pytest.mark.e2e
TOPIC = topic_of("directory")


def seed_loaded(stack: Stack) -> bool:
    answer = requests.get(f"{stack.url('directory')}/services", timeout=5).json()
    return answer["total_items"] == len(seed_services())


def test_an_editors_change_reaches_kafka_with_its_author_and_time(stack):
    assert wait_for(lambda: seed_loaded(stack), timeout=60), f"no seed; see {stack.log_path}"
    key = (
        stack.familyties("directory", "editors", "create", "Directory Editor", "--role", "editor")
        .strip()
        .splitlines()[-1]
    )
    directory = stack.url("directory")
    [service] = requests.get(
        f"{directory}/services", params={"search": "mediation"}, timeout=5
    ).json()["contents"]

    response = requests.patch(
        f"{directory}/services/{service['id']}",
        json={"description": "Now also in Greenock on Thursdays."},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200
    changed = response.json()

    seed_ids = {service["id"] for service in seed_services()}

    def published(records) -> set[str]:
        return {record.key.decode() for record in records if b'"ServicePublished"' in record.value}

    def all_arrived(records) -> bool:
        updated = any(
            record.key.decode() == service["id"] and b'"ServiceUpdated"' in record.value
            for record in records
        )
        return updated and published(records) == seed_ids

    records = read_topic(stack.broker, TOPIC, all_arrived, 90)
    events = [decode(record.value) for record in records if record.key.decode() == service["id"]]
    assert [event.type for event in events] == ["ServicePublished", "ServiceUpdated"]
    change = events[1].data["change"]
    assert change["by"]["name"] == "Directory Editor"
    assert change["at"] == datetime.fromisoformat(changed["last_modified"])
    assert change["fields_changed"][0]["replacement_value"] == "Now also in Greenock on Thursdays."
    assert events[1].data["service"]["description"] == "Now also in Greenock on Thursdays."

    # every seed service was announced, and no refuge's address went with it
    assert published(records) == seed_ids
    everything = b"".join(record.value for record in records)
    for _, street, _, postcode in REFUGES.values():
        assert street.encode() not in everything and postcode.encode() not in everything
