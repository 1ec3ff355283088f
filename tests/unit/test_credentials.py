"""Broker and database credentials: read from the environment, given to every Kafka client,
never shown in a settings repr or a log line."""

import dataclasses
import io
import logging
import sys

import pytest

from backbone import kafka, logs
from backbone.settings import Secret, Settings

KAFKA_PASSWORD = "kafka-password-9f2c"
MONGODB_PASSWORD = "mongodb-password-41ab"
SESSION_SECRET = "session-secret-77d0"

PRODUCTION_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_USERNAME": "casework",
    "KAFKA_SASL_PASSWORD": KAFKA_PASSWORD,
    "MONGODB_USERNAME": "casework",
    "MONGODB_PASSWORD": MONGODB_PASSWORD,
    "FAMILYTIES_SESSION_SECRET": SESSION_SECRET,
}
SASL_KEYS = {"sasl_mechanism", "sasl_plain_username", "sasl_plain_password"}


@pytest.fixture
def production(monkeypatch) -> Settings:
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def every_client_config(settings: Settings) -> list[dict]:
    return [
        kafka.producer_config(settings),
        kafka.consumer_config(settings, "casework"),
        kafka.admin_config(settings),
    ]


def test_every_kafka_client_logs_in_with_the_service_user_when_one_is_configured(production):
    for config in every_client_config(production):
        assert config["security_protocol"] == "SASL_PLAINTEXT"
        assert config["sasl_mechanism"] == "SCRAM-SHA-512"
        assert config["sasl_plain_username"] == "casework"
        assert config["sasl_plain_password"] == KAFKA_PASSWORD


def test_without_credentials_kafka_clients_connect_as_before(monkeypatch):
    for name in PRODUCTION_ENV:
        monkeypatch.delenv(name, raising=False)
    for config in every_client_config(Settings.from_env()):
        assert config["security_protocol"] == "PLAINTEXT"
        assert not SASL_KEYS & config.keys()


def test_producers_use_no_transactional_id_since_the_acls_grant_none(production):
    assert "transactional_id" not in kafka.producer_config(production)


def test_mongodb_credentials_come_from_the_environment(production):
    assert production.mongodb_username == "casework"
    assert production.mongodb_password.reveal() == MONGODB_PASSWORD


@pytest.mark.parametrize(
    "change",
    [
        {"kafka_security_protocol": "SASL_PLAINTEXT"},  # a login without a user
        {"kafka_sasl_username": "casework", "kafka_sasl_password": Secret("x")},  # unused
        {"mongodb_username": "casework"},
        {"mongodb_password": Secret("x")},
    ],
)
def test_half_configured_credentials_are_refused_at_start(change):
    with pytest.raises(ValueError):
        dataclasses.replace(Settings(), **change)


def test_secrets_are_not_in_the_settings_repr(production):
    shown = f"{production!r} {production!s}"
    assert "casework" in shown  # the user names are not secret, and help when debugging
    for secret in (KAFKA_PASSWORD, MONGODB_PASSWORD, SESSION_SECRET):
        assert secret not in shown


def test_secrets_are_not_in_a_log_line_about_the_settings(production, monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # restored afterwards
    monkeypatch.setattr(root, "level", root.level)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # where the JSON log lines go
    logs.configure("casework", "DEBUG")
    logging.getLogger("tests").info("settings", extra={"settings": production})
    logging.getLogger("tests").info("settings %s", production)
    written = stream.getvalue()
    assert written.count("SASL_PLAINTEXT") == 2  # the settings were logged, twice
    for secret in (KAFKA_PASSWORD, MONGODB_PASSWORD, SESSION_SECRET):
        assert secret not in written
