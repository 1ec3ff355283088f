"""What each service may do on the broker, derived from the event catalogue and the
service's worker plan, never written by hand: a service writes only the topics of the
events it is the source of (and its own dead-letter topics, and the count of its event log),
reads only the topics its consumer groups read (and the counts, if it checks a rebuild
against them), and uses only its own groups. The broker refuses everything else
(docker-compose.yml: allow.everyone.if.no.acl.found=false), so a forged CaseDeclined can
only come from casework's own user.
"""

from __future__ import annotations

from dataclasses import dataclass

from backbone import log_counts
from backbone.consumer import dead_letter_topic
from backbone.events.catalogue import CATALOGUE, source_of, topic_of
from backbone.worker import WorkerPlan

CLUSTER = "kafka-cluster"  # the name of the one cluster resource, as Kafka has it


@dataclass(frozen=True, order=True)
class Acl:
    """One allowed operation, named as kafka-acls.sh names it."""

    user: str  # the service's SCRAM user: its name
    operation: str  # Read, Write, Create, Describe, IdempotentWrite
    resource: str  # topic, group or cluster
    name: str


def user_of(plan: WorkerPlan) -> str:
    return plan.service


def written_topics(plan: WorkerPlan) -> list[str]:
    """The topics of the events the catalogue says this service is the source of, the
    dead-letter topics of its consumer groups, and where it keeps an event log, the topic
    it says the log's count on."""
    source = source_of(plan.service)
    events = {kind.topic for kind in CATALOGUE.values() if kind.source == source}
    counts = {log_counts.TOPIC} if plan.event_log else set()
    return sorted(events | counts | {dead_letter_topic(group) for group in plan.consumers})


def owned_topics(plan: WorkerPlan) -> list[str]:
    """The topics the service's worker makes: its own (even before it publishes on it) and
    the others it writes (its groups' dead-letter topics, the event-log counts)."""
    return sorted({topic_of(plan.service), *written_topics(plan)})


def read_topics(plan: WorkerPlan) -> list[str]:
    """The topics its consumer groups read, and the event-log counts if it checks a rebuilt
    view against them (in no group: no group ACL)."""
    counts = {log_counts.TOPIC} if plan.service in log_counts.READERS else set()
    return sorted(counts | {topic for topics in plan.consumers.values() for topic in topics})


def service_acls(plan: WorkerPlan) -> set[Acl]:
    """Exactly what the service's worker does on the broker. Web processes never log in: they
    write events through the outbox, and /readyz asks only ApiVersions, which a broker answers
    before authentication."""
    user = user_of(plan)
    owned, written, read = owned_topics(plan), written_topics(plan), read_topics(plan)
    unexplained = set(plan.topics) - set(owned) - set(read)
    if unexplained:
        # The worker would make a topic it neither owns nor reads: no ACL is derived for it.
        raise ValueError(f"{plan.service} lists topics it neither owns nor reads: {unexplained}")
    acls = {Acl(user, op, "topic", topic) for topic in owned for op in ("Create", "Describe")}
    acls |= {Acl(user, "Write", "topic", topic) for topic in written}
    # Describe comes with Read, but is stated so the script says what it grants.
    acls |= {Acl(user, op, "topic", topic) for topic in read for op in ("Describe", "Read")}
    acls |= {Acl(user, "Read", "group", group) for group in plan.consumers}
    if written:
        # Producers are idempotent (backbone.kafka). Brokers since 3.0 accept WRITE on any
        # topic for that; IdempotentWrite grants no topic, and keeps older brokers working.
        acls.add(Acl(user, "IdempotentWrite", "cluster", CLUSTER))
    # No TransactionalId ACL: no producer uses a transactional id. No Delete: ensure_topics
    # remakes an empty topic only if a broker made it by itself, with other partitions,
    # which production's cannot (auto.create.topics.enable=false).
    return acls


def allows(acls: set[Acl], user: str, operation: str, resource: str, name: str) -> bool:
    """Whether `acls` let `user` do `operation`, with Kafka's one implication: Read and
    Write imply Describe."""
    implied = {operation, *(("Read", "Write") if operation == "Describe" else ())}
    return any(Acl(user, op, resource, name) in acls for op in implied)
