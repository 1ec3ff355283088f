"""The CloudEvents envelope, the catalogue and event ids."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from backbone.asyncapi import asyncapi_document
from backbone.events.envelope import InvalidEvent, decode, encode, new_event
from backbone.ids import new_event_id
from tests.factories import referral_received_data


def test_a_new_event_has_a_cloudevents_envelope_and_round_trips():
    envelope = new_event("ReferralReceived", "/familyties/referral", "r1", referral_received_data())
    assert envelope["specversion"] == "1.0"
    assert envelope["schemaversion"] == 1
    event = decode(encode(envelope))
    assert (event.id, event.type, event.subject) == (envelope["id"], "ReferralReceived", "r1")
    assert event.data["family_member"]["name"] == "Jordan Example"


def test_data_that_does_not_match_the_catalogue_is_never_written():
    data = referral_received_data()
    del data["consent"]
    with pytest.raises(InvalidEvent, match="consent"):
        new_event("ReferralReceived", "/familyties/referral", "r1", data)
    with pytest.raises(LookupError):
        new_event("ReferralTeleported", "/familyties/referral", "r1", {})


def test_data_that_is_not_json_is_refused_when_written_not_when_relayed():
    data = {
        "case_id": "c1",
        "referral_id": "r1",
        "by": "s1",
        "at": datetime(2026, 11, 2, tzinfo=UTC),
    }  # a datetime, not its ISO text
    with pytest.raises(InvalidEvent, match="not JSON"):
        new_event("SupportStarted", "/familyties/casework", "c1", data)
    assert new_event(
        "SupportStarted", "/familyties/casework", "c1", {**data, "at": data["at"].isoformat()}
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: b"{not json", "envelope"),
        (lambda e: encode({k: v for k, v in e.items() if k != "id"}), "envelope"),
        (lambda e: encode({**e, "specversion": "0.3"}), "envelope"),
        (lambda e: encode({**e, "type": "Unknown"}), "not in the event catalogue"),
        (lambda e: encode({**e, "schemaversion": 9}), "schema version 9"),
        (lambda e: encode({**e, "data": {**e["data"], "needs": ["nope"]}}), "data is invalid"),
        (
            lambda e: encode({**e, "source": "/familyties/casework"}),
            "comes from /familyties/referral",
        ),
    ],
)
def test_invalid_events_are_refused_with_the_reason(change, reason):
    envelope = new_event("ReferralReceived", "/familyties/referral", "r1", referral_received_data())
    with pytest.raises(InvalidEvent, match=reason):
        decode(change(envelope))


def test_event_ids_are_uuid7_and_ordered_by_time():
    ids = [new_event_id() for _ in range(200)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert len(set(ids)) == 200
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)  # the millisecond prefix


def test_the_asyncapi_document_names_every_event_and_its_references_resolve():
    document = asyncapi_document()
    assert document["asyncapi"].startswith("3.")
    channel = document["channels"]["familyties-referral-events"]
    assert channel["address"] == "familyties.referral.events"
    assert "ReferralReceived" in document["components"]["messages"]
    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/')[1:]}:
        node = document
        for key in ref.split("/"):
            node = node[key]


def test_an_event_is_made_only_by_the_service_that_owns_its_type():
    with pytest.raises(InvalidEvent, match="comes from /familyties/referral alone"):
        new_event("ReferralReceived", "/familyties/casework", "r1", referral_received_data())


SIGNPOST_MADE = {
    "case_id": "c1",
    "referral_id": "r1",
    "at": "2026-11-03T10:00:00+00:00",
    "by": "s1",
    "signpost_id": "p1",
    "service_id": "svc1",
    "method": "letter",
    "personal_details_shared": False,
}


def test_a_signpost_made_before_its_needs_were_recorded_loads_with_none():
    envelope = new_event("SignpostMade", "/familyties/casework", "c1", SIGNPOST_MADE)
    assert decode(encode(envelope)).data["needs"] == []
    data = {**SIGNPOST_MADE, "needs": ["bereavement", "housing"]}
    envelope = new_event("SignpostMade", "/familyties/casework", "c1", data)
    assert decode(encode(envelope)).data["needs"] == ["bereavement", "housing"]


def test_a_signpost_naming_a_need_outside_the_vocabulary_is_refused():
    with pytest.raises(InvalidEvent, match="needs"):
        new_event(
            "SignpostMade", "/familyties/casework", "c1", {**SIGNPOST_MADE, "needs": ["money"]}
        )
