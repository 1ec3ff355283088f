"""Every setting of every service, read from the environment in one place.

Defaults suit `make run` on one machine; production overrides them with environment
variables of the same names.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

SERVICE_PORTS = {
    "referral": 8001,
    "casework": 8002,
    "directory": 8003,
    "notifications": 8004,
    "reporting": 8005,
}
# Under `make run` each worker serves its own /metrics (WORKER_METRICS_PORT), as in
# containers, so that Prometheus sees a stopped worker as a target down.
WORKER_METRICS_PORTS = {
    "referral": 9101,
    "casework": 9102,
    "directory": 9103,
    "notifications": 9104,
    "reporting": 9105,
}


class Secret:
    """A password or key. Its repr and str (and so a log line, even one given the whole
    settings) say only that it is set; `reveal()` is for the client that needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _secret(name: str) -> Secret | None:
    """NAME's value, or the contents of the file NAME_FILE names (Docker and Kubernetes
    secrets: the value then never sits in the environment, where `docker inspect` shows it).
    Both set is refused, as is an empty file: either is a mistake found only at login."""
    path = os.environ.get(f"{name}_FILE")
    value = os.environ.get(name)
    if path and value:
        raise ValueError(f"set {name} or {name}_FILE, not both")
    if path:
        value = Path(path).read_text().rstrip("\r\n")  # the newline an editor ends it with
        if not value:
            raise ValueError(f"{name}_FILE names an empty file: {path}")
    return Secret(value) if value else None


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    """The configuration of one process. Build it with `Settings.from_env()`."""

    var_dir: Path = Path("var")
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    # Where the public reaches a service through the reverse proxy (<NAME>_PUBLIC_URL, such as
    # https://directory.example.org): links the service gives out use it, never the Host
    # header a client sent. Unset, the local address.
    public_urls: dict[str, str] = field(default_factory=dict)
    # The reverse proxies (addresses or networks, comma separated; "*" for any) whose
    # X-Forwarded-For names the client: gunicorn trusts their X-Forwarded-Proto too
    # (deploy/gunicorn.conf.py reads the same variable, FORWARDED_ALLOW_IPS).
    forwarded_allow_ips: str = "127.0.0.1"
    # Retryable writes are off for the local database: it sorts its whole record of them on
    # every write once it holds 10,000 (see README), and the outbox, idempotency keys and
    # idempotent consumers already make a retried write safe. Production's URI keeps them on.
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false"
    # How long an operation waits for an unreachable database before failing: a request
    # answers 503 within a second rather than hanging. Code that must wait (start-up) says so.
    mongodb_server_selection_timeout_ms: int = 300
    # A request's database work ends within this many seconds, or it answers 503: an
    # overloaded database sheds load instead of queueing requests nobody waits for.
    request_database_seconds: float = 5.0
    database_prefix: str = "familyties_"
    # Who the database knows this process as (production: one user per service, able to use
    # only that service's database; docker-compose.yml). Unset, no login: the local database.
    mongodb_username: str | None = None
    mongodb_password: Secret | None = None
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # How a worker logs in to the broker (production: SASL_PLAINTEXT with SCRAM-SHA-512, one
    # user per service whose ACLs come from `familyties deploy kafka-acls`). PLAINTEXT and no
    # user for the local broker, which has no SASL.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: Secret | None = None
    # Partitions of each topic the services make: up to this many workers of a service share
    # a consumer group's work, any more stand by. A topic that exists keeps its own
    # (backbone.kafka.ensure_topics; docs/deployment.md says how to change it).
    topic_partitions: int = 6
    topic_replication_factor: int = 1
    # Consumer-group timings: the defaults of Apache Kafka's clients make the first
    # assignment wait for a whole 300 s rebalance timeout; these keep it to seconds.
    consumer_max_poll_interval_ms: int = 10_000
    consumer_session_timeout_ms: int = 10_000
    consumer_heartbeat_interval_ms: int = 1_000
    producer_delivery_timeout_ms: int = 300_000
    consumer_max_poll_records: int = 100
    outbox_poll_seconds: float = 0.2
    outbox_batch_size: int = 100
    # How often relays and consumers check that the broker still holds their topics (a broker
    # that lost its log is healed by republishing), and how long a relay waits at most
    # between attempts when the broker fails.
    broker_check_seconds: float = 5.0
    relay_backoff_max_seconds: float = 10.0
    # Of a service's relays (one per worker) one publishes at a time: a worker killed
    # outright is replaced by another's relay this long after (backbone.relay_lease).
    relay_lease_seconds: float = 5.0
    # A service counts only events made at least this long ago into what it says it has
    # published (backbone.log_counts): a write gets its event id before it commits, so one
    # still in flight could otherwise appear below a count already said.
    event_log_count_margin_seconds: float = 30.0
    # The same warning (broker away, events waiting) is logged at most once per interval.
    warning_interval_seconds: float = 60.0
    log_level: str = "INFO"
    # Signs web sessions. Unset, a key is made once and kept in var_dir (see secret_key()).
    session_secret: Secret | None = None
    # Seal the secrets stored that must be read back (backbone.sealing): Fernet keys, comma
    # separated, newest first. Unset, one is made once and kept in var_dir (data_keys_in_use()),
    # unless they are required: the image requires them, since its var_dir is a tmpfs and a
    # key made there, lost at a restart, would leave every sealed secret unopenable.
    data_keys: Secret | None = None
    data_keys_required: bool = False
    # Exports meant for publication show counts from 1 to 4 as "fewer than 5". Off, as the
    # reports this service is modelled on publish them.
    reporting_hide_small_numbers: bool = False
    # Notifications' email: any SMTP relay. The defaults reach the local mail server that
    # `make run` starts (MailDev), which catches every message and shows it on a web page.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: str = "none"  # "starttls", "tls" (implicit TLS, port 465) or "none"
    smtp_username: str | None = None
    smtp_password: Secret | None = None
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "Family Ties <notifications@familyties.invalid>"
    mail_web_port: int = 1080  # the local mail server's web page and API
    # The local monitoring of `make run` (services/monitoring.py): Prometheus, Alertmanager
    # and the blackbox exporter that probes each service's /readyz.
    worker_metrics_ports: dict[str, int] = field(default_factory=lambda: dict(WORKER_METRICS_PORTS))
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    blackbox_exporter_port: int = 9115
    # Multiplies every time in the monitoring configuration (scrape and evaluation
    # intervals, alert windows, `for:` durations, age thresholds, Alertmanager's waits), so
    # that tests see the real rules fire in seconds. 1 everywhere else.
    monitoring_time_scale: float = 1.0
    # Webhooks to addresses on loopback, private or link-local networks are refused unless
    # this is on (`make run` turns it on for local receivers; docker-compose leaves it off).
    webhook_allow_private_addresses: bool = False
    webhook_timeout_seconds: float = 5.0
    webhook_max_response_bytes: int = 64 * 1024
    # A message not delivered within this long is given up as failed; a webhook endpoint
    # whose messages fail that long is disabled and its partner told.
    notification_retry_seconds: float = 3 * 24 * 3600.0
    notification_first_retry_seconds: float = 30.0
    # Threads of the notifications worker that send, each one message at a time: a crash
    # can repeat at most this many messages (see services/notifications/delivery.py).
    notification_sending_threads: int = 4
    # The managers' daily summary and every daily digest go out at this hour (UK time).
    daily_summary_hour: int = 8

    def __post_init__(self) -> None:
        # Credentials that would silently go unused, or a login without them, are refused at
        # start rather than found out as an unauthenticated (or refused) connection later.
        sasl = self.kafka_security_protocol.startswith("SASL_")
        has_user = bool(self.kafka_sasl_username or self.kafka_sasl_password)
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if has_user and not sasl:
            raise ValueError("KAFKA_SASL_USERNAME/PASSWORD need a SASL_ KAFKA_SECURITY_PROTOCOL")
        if bool(self.mongodb_username) != bool(self.mongodb_password):
            raise ValueError("MONGODB_USERNAME and MONGODB_PASSWORD go together")
        if self.smtp_security not in ("none", "starttls", "tls"):
            raise ValueError("SMTP_SECURITY must be none, starttls or tls")
        if bool(self.smtp_username) != bool(self.smtp_password):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD go together")

    @classmethod
    def from_env(cls) -> Settings:
        ports = {
            name: _env_int(f"{name.upper()}_PORT", default)
            for name, default in SERVICE_PORTS.items()
        }
        worker_metrics_ports = {
            name: _env_int(f"{name.upper()}_WORKER_METRICS_PORT", default)
            for name, default in WORKER_METRICS_PORTS.items()
        }
        public_urls = {
            name: os.environ[f"{name.upper()}_PUBLIC_URL"].rstrip("/")
            for name in SERVICE_PORTS
            if os.environ.get(f"{name.upper()}_PUBLIC_URL")
        }
        return cls(
            var_dir=Path(_env("FAMILYTIES_VAR_DIR", "var")),
            host=_env("FAMILYTIES_HOST", "127.0.0.1"),
            ports=ports,
            public_urls=public_urls,
            forwarded_allow_ips=_env("FORWARDED_ALLOW_IPS", cls.forwarded_allow_ips),
            mongodb_uri=_env("MONGODB_URI", cls.mongodb_uri),
            mongodb_server_selection_timeout_ms=_env_int(
                "MONGODB_SERVER_SELECTION_TIMEOUT_MS", cls.mongodb_server_selection_timeout_ms
            ),
            request_database_seconds=_env_float(
                "REQUEST_DATABASE_SECONDS", cls.request_database_seconds
            ),
            database_prefix=_env("MONGODB_DATABASE_PREFIX", cls.database_prefix),
            mongodb_username=os.environ.get("MONGODB_USERNAME") or None,
            mongodb_password=_secret("MONGODB_PASSWORD"),
            kafka_bootstrap_servers=_env("KAFKA_BOOTSTRAP_SERVERS", cls.kafka_bootstrap_servers),
            kafka_security_protocol=_env("KAFKA_SECURITY_PROTOCOL", cls.kafka_security_protocol),
            kafka_sasl_mechanism=_env("KAFKA_SASL_MECHANISM", cls.kafka_sasl_mechanism),
            kafka_sasl_username=os.environ.get("KAFKA_SASL_USERNAME") or None,
            kafka_sasl_password=_secret("KAFKA_SASL_PASSWORD"),
            topic_partitions=_env_int("KAFKA_TOPIC_PARTITIONS", cls.topic_partitions),
            topic_replication_factor=_env_int(
                "KAFKA_TOPIC_REPLICATION_FACTOR", cls.topic_replication_factor
            ),
            consumer_max_poll_interval_ms=_env_int(
                "KAFKA_MAX_POLL_INTERVAL_MS", cls.consumer_max_poll_interval_ms
            ),
            consumer_session_timeout_ms=_env_int(
                "KAFKA_SESSION_TIMEOUT_MS", cls.consumer_session_timeout_ms
            ),
            consumer_heartbeat_interval_ms=_env_int(
                "KAFKA_HEARTBEAT_INTERVAL_MS", cls.consumer_heartbeat_interval_ms
            ),
            producer_delivery_timeout_ms=_env_int(
                "KAFKA_DELIVERY_TIMEOUT_MS", cls.producer_delivery_timeout_ms
            ),
            consumer_max_poll_records=_env_int(
                "KAFKA_MAX_POLL_RECORDS", cls.consumer_max_poll_records
            ),
            outbox_poll_seconds=_env_float("OUTBOX_POLL_SECONDS", cls.outbox_poll_seconds),
            outbox_batch_size=_env_int("OUTBOX_BATCH_SIZE", cls.outbox_batch_size),
            broker_check_seconds=_env_float("BROKER_CHECK_SECONDS", cls.broker_check_seconds),
            relay_lease_seconds=_env_float("RELAY_LEASE_SECONDS", cls.relay_lease_seconds),
            relay_backoff_max_seconds=_env_float(
                "RELAY_BACKOFF_MAX_SECONDS", cls.relay_backoff_max_seconds
            ),
            event_log_count_margin_seconds=_env_float(
                "EVENT_LOG_COUNT_MARGIN_SECONDS", cls.event_log_count_margin_seconds
            ),
            warning_interval_seconds=_env_float(
                "WARNING_INTERVAL_SECONDS", cls.warning_interval_seconds
            ),
            log_level=_env("LOG_LEVEL", cls.log_level),
            session_secret=_secret("FAMILYTIES_SESSION_SECRET"),
            data_keys=_secret("FAMILYTIES_DATA_KEYS"),
            data_keys_required=_env_flag("FAMILYTIES_DATA_KEYS_REQUIRED"),
            reporting_hide_small_numbers=_env_flag("REPORTING_HIDE_SMALL_NUMBERS"),
            smtp_host=_env("SMTP_HOST", cls.smtp_host),
            smtp_port=_env_int("SMTP_PORT", cls.smtp_port),
            smtp_security=_env("SMTP_SECURITY", cls.smtp_security),
            smtp_username=os.environ.get("SMTP_USERNAME") or None,
            smtp_password=_secret("SMTP_PASSWORD"),
            smtp_timeout_seconds=_env_float("SMTP_TIMEOUT_SECONDS", cls.smtp_timeout_seconds),
            mail_from=_env("MAIL_FROM", cls.mail_from),
            mail_web_port=_env_int("MAIL_WEB_PORT", cls.mail_web_port),
            worker_metrics_ports=worker_metrics_ports,
            prometheus_port=_env_int("PROMETHEUS_PORT", cls.prometheus_port),
            alertmanager_port=_env_int("ALERTMANAGER_PORT", cls.alertmanager_port),
            blackbox_exporter_port=_env_int("BLACKBOX_EXPORTER_PORT", cls.blackbox_exporter_port),
            monitoring_time_scale=_env_float("MONITORING_TIME_SCALE", cls.monitoring_time_scale),
            webhook_allow_private_addresses=_env_flag("WEBHOOK_ALLOW_PRIVATE_ADDRESSES"),
            webhook_timeout_seconds=_env_float(
                "WEBHOOK_TIMEOUT_SECONDS", cls.webhook_timeout_seconds
            ),
            webhook_max_response_bytes=_env_int(
                "WEBHOOK_MAX_RESPONSE_BYTES", cls.webhook_max_response_bytes
            ),
            notification_retry_seconds=_env_float(
                "NOTIFICATION_RETRY_SECONDS", cls.notification_retry_seconds
            ),
            notification_first_retry_seconds=_env_float(
                "NOTIFICATION_FIRST_RETRY_SECONDS", cls.notification_first_retry_seconds
            ),
            notification_sending_threads=_env_int(
                "NOTIFICATION_SENDING_THREADS", cls.notification_sending_threads
            ),
            daily_summary_hour=_env_int("DAILY_SUMMARY_HOUR", cls.daily_summary_hour),
        )

    def secret_key(self) -> str:
        """The session-signing key: FAMILYTIES_SESSION_SECRET, or one made on first use and
        kept in var_dir (see _kept_in_var_dir), so sessions survive a restart."""
        if self.session_secret:
            return self.session_secret.reveal()
        return self._kept_in_var_dir("session-secret", lambda: secrets.token_hex(32))

    def data_keys_in_use(self) -> list[str]:
        """The keys that seal stored secrets (backbone.sealing), newest first:
        FAMILYTIES_DATA_KEYS, or one made on first use and kept in var_dir (see
        _kept_in_var_dir), so what was sealed still opens after a restart."""
        if self.data_keys:
            given = self.data_keys.reveal()
        else:
            given = self._kept_in_var_dir("data-key", lambda: Fernet.generate_key().decode())
        return [key.strip() for key in given.split(",") if key.strip()]

    def _kept_in_var_dir(self, name: str, make: Callable[[], str]) -> str:
        """The value in var_dir/`name`, made with `make` on first use, readable by this user
        only: for `make run`, where no key is given. Production gives every key."""
        path = self.var_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".{name}.{os.getpid()}")
            with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(make())
            try:  # a link appears whole or not at all: two processes agree on one value
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return path.read_text().strip()

    def database_name(self, service: str) -> str:
        """Each service owns one database that no other service reads."""
        return f"{self.database_prefix}{service}"

    def url(self, service: str) -> str:
        return f"http://{self.host}:{self.ports[service]}"

    def public_url(self, service: str) -> str:
        return self.public_urls.get(service) or self.url(service)

    @property
    def kafka_host_port(self) -> tuple[str, int]:
        host, _, port = self.kafka_bootstrap_servers.split(",")[0].rpartition(":")
        return host, int(port)

    @property
    def mongodb_host_port(self) -> tuple[str, int]:
        hosts = self.mongodb_uri.split("://", 1)[1].split("/", 1)[0].split(",")[0]
        host, _, port = hosts.rpartition(":")
        return host, int(port or 27017)
