"""The broker's ACLs, derived from the event catalogue and the workers' plans: each service
writes only its own topics, reads only what it consumes, and uses only its own groups."""

import re
import shlex

import pytest

from backbone import log_counts
from backbone.acls import Acl, allows, service_acls, written_topics
from backbone.consumer import dead_letter_topic
from backbone.events.catalogue import CATALOGUE, source_of, topic_of
from backbone.worker import WorkerPlan
from services import NAMES
from services.deploy import KAFKA_INIT_PATH, kafka_init_script, worker_plans

# Said independently of the code: who reads whose events (README, DESIGN.md).
EXPECTED_READS = {
    "referral": {topic_of("casework")},
    "casework": {topic_of("referral"), topic_of("directory")},
    "directory": set(),
    "notifications": {topic_of("referral"), topic_of("casework")},
    "reporting": {
        topic_of("referral"),
        topic_of("casework"),
        topic_of("directory"),
        log_counts.TOPIC,  # to check a rebuilt view against the counts
    },
}


@pytest.fixture(scope="module")
def plans() -> dict[str, WorkerPlan]:
    return {plan.service: plan for plan in worker_plans()}


@pytest.fixture(scope="module")
def acls(plans) -> dict[str, set[Acl]]:
    return {name: service_acls(plan) for name, plan in plans.items()}


def who(acls, operation: str, resource: str, name: str) -> set[str]:
    return {
        user for user, granted in acls.items() if allows(granted, user, operation, resource, name)
    }


def test_every_service_has_a_user_of_its_own(acls):
    assert set(acls) == set(NAMES)
    for user, granted in acls.items():
        assert {acl.user for acl in granted} == {user}


@pytest.mark.parametrize("kind", CATALOGUE.values(), ids=lambda kind: kind.name)
def test_only_the_source_of_an_event_may_write_its_topic(acls, kind):
    (owner,) = [name for name in NAMES if source_of(name) == kind.source]
    assert who(acls, "Write", "topic", kind.topic) == {owner}


def test_nobody_but_casework_writes_case_events_so_a_case_declined_cannot_be_forged(acls):
    case_declined = CATALOGUE["CaseDeclined"].topic
    assert who(acls, "Write", "topic", case_declined) == {"casework"}
    assert who(acls, "Create", "topic", case_declined) == {"casework"}


def test_casework_cannot_write_or_make_referral_topics(acls):
    for operation in ("Write", "Create"):
        assert not allows(acls["casework"], "casework", operation, "topic", topic_of("referral"))
    assert allows(acls["casework"], "casework", "Read", "topic", topic_of("referral"))


def test_each_service_reads_exactly_what_its_consumers_consume(acls, plans):
    for name, granted in acls.items():
        read = {acl.name for acl in granted if acl.operation == "Read" and acl.resource == "topic"}
        assert read == EXPECTED_READS[name]
        consumed = {topic for topics in plans[name].consumers.values() for topic in topics}
        assert read - {log_counts.TOPIC} == consumed


def test_each_service_writes_only_its_own_topic_and_its_dead_letters(acls, plans):
    for name, granted in acls.items():
        written = {acl.name for acl in granted if acl.operation == "Write"}
        dead_letters = {dead_letter_topic(group) for group in plans[name].consumers}
        assert written - dead_letters <= {topic_of(name), log_counts.TOPIC}
        assert dead_letters <= written


def test_the_services_that_publish_events_write_their_counts_and_reporting_reads_them(acls, plans):
    publishers = {name for name, plan in plans.items() if plan.event_log}
    assert publishers == {"referral", "casework", "directory", "notifications"}
    assert who(acls, "Write", "topic", log_counts.TOPIC) == publishers
    assert who(acls, "Create", "topic", log_counts.TOPIC) == publishers
    readers = {
        name
        for name, granted in acls.items()
        if Acl(name, "Read", "topic", log_counts.TOPIC) in granted
    }
    assert readers == {"reporting"}
    assert log_counts.TOPIC in plans["referral"].kept_topics
    assert log_counts.TOPIC not in plans["reporting"].kept_topics


def test_consumer_groups_are_a_service_s_own(acls, plans):
    for name, granted in acls.items():
        groups = {acl.name for acl in granted if acl.resource == "group"}
        assert groups == set(plans[name].consumers)
        for group in groups:
            assert who(acls, "Read", "group", group) == {name}
            assert who(acls, "Write", "topic", dead_letter_topic(group)) == {name}


def test_nothing_is_granted_beyond_topics_groups_and_idempotent_writes(acls):
    for granted in acls.values():
        for acl in granted:
            assert acl.operation in {"Read", "Write", "Create", "Describe", "IdempotentWrite"}
            assert (acl.resource == "cluster") == (acl.operation == "IdempotentWrite")
            assert "*" not in acl.name


def test_a_worker_relays_events_exactly_when_the_catalogue_names_it_as_a_source(plans):
    for name, plan in plans.items():
        sources = any(kind.source == source_of(name) for kind in CATALOGUE.values())
        assert bool(plan.event_log) == sources
        assert (topic_of(name) in written_topics(plan)) == sources


def test_a_plan_that_lists_a_topic_it_neither_owns_nor_reads_gets_no_acls():
    plan = WorkerPlan("reporting", topics=[topic_of("reporting"), topic_of("casework")])
    with pytest.raises(ValueError, match="neither owns nor reads"):
        service_acls(plan)


def test_the_kafka_init_script_in_the_repository_is_the_one_the_code_derives():
    assert KAFKA_INIT_PATH.read_text() == kafka_init_script(worker_plans())


def test_the_script_grants_exactly_the_derived_acls(acls):
    assert script_acls(KAFKA_INIT_PATH.read_text()) == set().union(*acls.values())


def test_the_script_sets_each_service_user_from_its_own_environment_variable():
    text = KAFKA_INIT_PATH.read_text()
    for name in NAMES:
        assert f"secret=$(password {name.upper()}_KAFKA_PASSWORD)\nuser {name} " in text


def script_acls(text: str) -> set[Acl]:
    """The ACLs the script's `allow` lines add."""
    found = set()
    for line in text.splitlines():
        if not re.match(r"allow \w", line):
            continue
        words = shlex.split(line)
        user, options = words[1], words[2:]
        operations = [options[i + 1] for i, o in enumerate(options) if o == "--operation"]
        resources = [(o[2:], options[i + 1]) for i, o in enumerate(options) if o in RESOURCES]
        if "--cluster" in options:
            resources.append(("cluster", "kafka-cluster"))
        found |= {Acl(user, op, kind, name) for op in operations for kind, name in resources}
    return found


RESOURCES = {"--topic", "--group"}
