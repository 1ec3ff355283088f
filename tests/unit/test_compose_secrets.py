"""docker-compose.yml (which cannot run here: no Docker engine) read as data: every secret
comes from the environment, each service's containers log in as that service alone, and
the broker refuses what no ACL allows."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from backbone import kafka
from backbone.settings import Settings
from services import NAMES

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_FROM_ENV = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?[^}]*\}$")
WITH_DEFAULT = re.compile(r"\$\{[A-Z0-9_]+:-(?P<default>[^}]*)\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEYS?$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def containers(compose) -> dict[str, dict]:
    return compose["services"]


def environment(container: dict) -> dict[str, str]:
    return {name: str(value) for name, value in container.get("environment", {}).items()}


def as_compose_gives_it(value: str) -> str:
    """A value's `${NAME:-default}` parts as compose gives them when NAME is unset."""
    return WITH_DEFAULT.sub(lambda found: found["default"], value)


def from_env(value: str) -> str | None:
    """The variable a value is required from, if it is exactly `${NAME:?message}`."""
    found = REQUIRED_FROM_ENV.match(value)
    return found["name"] if found else None


def test_every_secret_is_required_from_the_environment(containers):
    seen = 0
    for name, container in containers.items():
        for variable, value in environment(container).items():
            if SECRET_NAME.search(variable):
                seen += 1
                assert from_env(value), f"{name}: {variable} is not required from the environment"
    assert seen > 20  # the check looked at the credentials, not at nothing


def test_no_password_is_written_in_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"(?i)(password|secret)\s*[=:]\s*[\"']?(?!\$\{)\w", text)
    assert not re.search(r"mongodb://[^/\s]*@", text)  # nor a login in a URI


def test_each_service_container_logs_in_to_the_database_as_its_own_service(containers):
    for service in NAMES:
        for role in ("web", "worker"):
            env = environment(containers[f"{service}-{role}"])
            assert env["MONGODB_USERNAME"] == service
            assert from_env(env["MONGODB_PASSWORD"]) == f"{service.upper()}_MONGODB_PASSWORD"


def test_each_worker_logs_in_to_the_broker_as_its_own_service(containers):
    for service in NAMES:
        env = environment(containers[f"{service}-worker"])
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["KAFKA_SASL_USERNAME"] == service
        assert from_env(env["KAFKA_SASL_PASSWORD"]) == f"{service.upper()}_KAFKA_PASSWORD"


def test_web_containers_have_no_broker_login(containers):
    for service in NAMES:
        env = environment(containers[f"{service}-web"])
        assert not {name for name in env if name.startswith("KAFKA_SASL")}


def test_no_two_services_share_a_credential(containers):
    owners: dict[str, set[str]] = {}
    for name, container in containers.items():
        service = name.rsplit("-", 1)[0]
        if service not in NAMES:
            continue
        for variable, value in environment(container).items():
            if SECRET_NAME.search(variable) and variable != "FAMILYTIES_SESSION_SECRET":
                owners.setdefault(from_env(value), set()).add(service)
    assert owners and all(len(services) == 1 for services in owners.values())


@pytest.mark.parametrize("service", NAMES)
@pytest.mark.parametrize("role", ["web", "worker"])
def test_each_container_s_environment_makes_settings_the_code_accepts(
    containers, monkeypatch, service, role
):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", raising=False)  # as in a container
    for variable, value in environment(containers[f"{service}-{role}"]).items():
        given = f"from-{from_env(value)}" if from_env(value) else as_compose_gives_it(value)
        monkeypatch.setenv(variable, given)
    settings = Settings.from_env()
    assert settings.mongodb_username == service
    assert not settings.webhook_allow_private_addresses
    login = kafka.client_config(settings).get("sasl_plain_username")
    assert login == (service if role == "worker" else None)


@pytest.mark.parametrize("container", ["notifications-worker", "notifications-web"])
def test_notifications_alone_sends_mail_through_a_relay_with_its_own_login(containers, container):
    env = environment(containers[container])
    assert from_env(env["SMTP_HOST"]) == "SMTP_HOST"
    assert from_env(env["SMTP_USERNAME"]) == "SMTP_USERNAME"
    assert from_env(env["SMTP_PASSWORD"]) == "SMTP_PASSWORD"
    assert from_env(env["MAIL_FROM"]) == "MAIL_FROM"
    assert (env["SMTP_SECURITY"], as_compose_gives_it(env["SMTP_PORT"])) == ("starttls", "587")
    assert env["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] == "0"
    with_mail_login = {name for name, c in containers.items() if "SMTP_PASSWORD" in environment(c)}
    # and Alertmanager, which emails the ops team's alerts through the same relay
    assert with_mail_login == {"notifications-worker", "notifications-web", "alertmanager"}
    # production mails through a real relay: `make run`'s local mail server is not here
    assert not [name for name, c in containers.items() if "maildev" in str(c).lower()]


def test_the_broker_allows_nothing_no_acl_allows(containers):
    kafka_container = containers["kafka"]
    assert "./deploy/kafka:/familyties/kafka:ro" in kafka_container["volumes"]
    assert kafka_container["entrypoint"][-1] == "/familyties/kafka/start.sh"
    properties = broker_properties()
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert properties["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert from_env(environment(kafka_container)["KAFKA_ADMIN_PASSWORD"]) == "KAFKA_ADMIN_PASSWORD"


def test_only_the_loopback_controller_listener_is_without_a_login():
    properties = broker_properties()
    protocols = dict(p.split(":") for p in properties["listener.security.protocol.map"].split(","))
    listeners = dict(
        re.match(r"(\w+)://(.*)", listener).groups()
        for listener in properties["listeners"].split(",")
    )
    for name, address in listeners.items():
        if not protocols[name].startswith("SASL_"):
            assert name == properties["controller.listener.names"]
            assert address.startswith("localhost:")
    assert protocols[properties["inter.broker.listener.name"]].startswith("SASL_")


def test_kafka_init_runs_the_derived_script_with_every_password_it_asks_for(containers):
    init = containers["kafka-init"]
    assert init["entrypoint"][-1] == "/familyties/kafka/init.sh"
    asked = set(re.findall(r"\$\(password (\w+)\)", (ROOT / "deploy/kafka/init.sh").read_text()))
    given = {from_env(value) for value in environment(init).values()} - {None}
    assert asked == {f"{s.upper()}_KAFKA_PASSWORD" for s in NAMES} | {"KAFKA_ADMIN_PASSWORD"}
    assert asked <= given
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_mongodb_init_gives_each_service_its_own_database_only(containers):
    script = (ROOT / "deploy/mongodb/init.js").read_text()
    services = re.search(r"const SERVICES = \[(.*)\];", script)[1]
    assert re.findall(r'"(\w+)"', services) == NAMES
    assert f'const DATABASE_PREFIX = "{Settings().database_prefix}";' in script
    assert 'roles = [{ role: "readWrite", db: database }]' in script
    given = {from_env(value) for value in environment(containers["mongodb-init"]).values()}
    assert {f"{s.upper()}_MONGODB_PASSWORD" for s in NAMES} | {"MONGO_ROOT_PASSWORD"} <= given


def test_mongodb_requires_a_login(containers):
    env = environment(containers["mongodb"])
    assert from_env(env["MONGO_INITDB_ROOT_PASSWORD"]) == "MONGO_ROOT_PASSWORD"
    assert from_env(env["MONGO_REPLICA_SET_KEY"])
    start = (ROOT / "deploy/mongodb/start.sh").read_text()
    assert re.search(r"mongod --replSet rs0 .*--keyFile", start)  # --keyFile implies --auth


@pytest.mark.parametrize(
    "script", ["deploy/kafka/start.sh", "deploy/kafka/init.sh", "deploy/mongodb/start.sh"]
)
def test_the_shell_scripts_parse(script):
    subprocess.run(["bash", "-n", str(ROOT / script)], check=True)


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_the_mongosh_script_parses():
    subprocess.run(["node", "--check", str(ROOT / "deploy/mongodb/init.js")], check=True)


def broker_properties() -> dict[str, str]:
    lines = (ROOT / "deploy/kafka/server.properties").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


def test_every_web_container_with_pages_signs_sessions_with_the_shared_secret(containers):
    # A container without it would make its own in its filesystem: sessions lost on restart.
    for name in ("referral-web", "casework-web", "reporting-web", "notifications-web"):
        env = environment(containers[name])
        assert from_env(env["FAMILYTIES_SESSION_SECRET"]) == "FAMILYTIES_SESSION_SECRET", name


def test_the_containers_that_read_sealed_secrets_have_their_service_s_own_data_keys(containers):
    # Without them a container would make its own key in its filesystem, and lose it (and
    # every secret sealed with it) on restart. The referral and casework workers read none.
    given = {
        name: from_env(environment(container)["FAMILYTIES_DATA_KEYS"])
        for name, container in containers.items()
        if "FAMILYTIES_DATA_KEYS" in environment(container)
    }
    assert given == {
        "referral-web": "REFERRAL_DATA_KEYS",
        "casework-web": "CASEWORK_DATA_KEYS",
        "notifications-web": "NOTIFICATIONS_DATA_KEYS",
        "notifications-worker": "NOTIFICATIONS_DATA_KEYS",
    }
