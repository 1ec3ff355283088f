"""Every secret setting can come from a file named by `<NAME>_FILE` (Docker and Kubernetes
secrets) instead of the environment, and a muddle of the two is refused at start."""

import pytest

from backbone.settings import Secret, Settings

# Each secret setting: the variable it is read from, and the field it fills.
SECRETS = {
    "MONGODB_PASSWORD": "mongodb_password",
    "KAFKA_SASL_PASSWORD": "kafka_sasl_password",
    "FAMILYTIES_SESSION_SECRET": "session_secret",
    "FAMILYTIES_DATA_KEYS": "data_keys",
    "SMTP_PASSWORD": "smtp_password",
}
# What each secret needs beside it to be accepted.
COMPANIONS = {
    "MONGODB_PASSWORD": {"MONGODB_USERNAME": "casework"},
    "KAFKA_SASL_PASSWORD": {
        "KAFKA_SASL_USERNAME": "casework",
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    },
    "SMTP_PASSWORD": {"SMTP_USERNAME": "relay-user"},
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_is_read_from_the_file_its_FILE_variable_names(monkeypatch, tmp_path, name):
    path = tmp_path / name.lower()
    path.write_text("from-a-file-8c1e\n")  # an editor's newline is not part of it
    monkeypatch.setenv(f"{name}_FILE", str(path))
    for companion, value in COMPANIONS.get(name, {}).items():
        monkeypatch.setenv(companion, value)
    assert getattr(Settings.from_env(), SECRETS[name]) == Secret("from-a-file-8c1e")


def test_the_environment_still_works_alone(monkeypatch):
    monkeypatch.setenv("FAMILYTIES_SESSION_SECRET", "from-the-environment")
    assert Settings.from_env().session_secret == Secret("from-the-environment")


def test_both_the_variable_and_its_file_are_refused(monkeypatch, tmp_path):
    path = tmp_path / "secret"
    path.write_text("one")
    monkeypatch.setenv("FAMILYTIES_SESSION_SECRET", "another")
    monkeypatch.setenv("FAMILYTIES_SESSION_SECRET_FILE", str(path))
    with pytest.raises(ValueError, match="not both"):
        Settings.from_env()


def test_an_empty_file_is_refused_and_a_missing_one_named(monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    monkeypatch.setenv("FAMILYTIES_SESSION_SECRET_FILE", str(empty))
    with pytest.raises(ValueError, match="empty file"):
        Settings.from_env()
    monkeypatch.setenv("FAMILYTIES_SESSION_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="absent"):
        Settings.from_env()
