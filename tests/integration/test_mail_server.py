"""The local mail server (MailDev) catches what is sent to it over SMTP, and tests read it
back through its HTTP API (tests/mail_catcher.py)."""

from __future__ import annotations

import os
import smtplib
import stat
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.background import wait_for
from tests.mail_catcher import MailCatcher, html, recipients, sender, subject, text
from tests.servers import ROOT, free_port, stop


def send(port: int, message: EmailMessage, to: list[str] | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message, to_addrs=to)


def message(to: str, title: str, plain: str, rich: str | None = None) -> EmailMessage:
    email = EmailMessage()
    email["From"] = "Family Ties <notifications@familyties.invalid>"
    email["To"] = to
    email["Subject"] = title
    email.set_content(plain)
    if rich is not None:
        email.add_alternative(rich, subtype="html")
    return email


def test_a_multipart_email_is_caught_with_its_recipients_subject_and_both_parts(mail):
    email = message(
        "Sam Coordinator <sam@example.org>",
        "Referral received: Siân Ó Briain",  # not ASCII: encoded in the header
        "A new referral is waiting.\nOpen it in casework.",
        "<p>A new referral is <strong>waiting</strong>.</p>",
    )
    email["Cc"] = "team@example.org"
    send(mail.smtp_port, email, ["sam@example.org", "team@example.org", "audit@example.org"])

    [caught] = mail.wait_for(1)
    assert recipients(caught) == ["sam@example.org", "team@example.org", "audit@example.org"]
    assert [(to["name"], to["address"]) for to in caught["to"]] == [
        ("Sam Coordinator", "sam@example.org")
    ]
    assert sender(caught) == "notifications@familyties.invalid"
    assert subject(caught) == "Referral received: Siân Ó Briain"
    assert text(caught).splitlines() == ["A new referral is waiting.", "Open it in casework."]
    assert html(caught).strip() == "<p>A new referral is <strong>waiting</strong>.</p>"


def test_a_plain_text_email_has_no_html_part(mail):
    send(mail.smtp_port, message("sam@example.org", "Plain", "Only words."))
    [caught] = mail.wait_for(1)
    assert text(caught).strip() == "Only words."
    assert html(caught) is None


def test_each_test_starts_with_no_mail_and_clear_empties_it(mail):
    assert mail.emails() == []
    for n in range(3):
        send(mail.smtp_port, message(f"person{n}@example.org", f"Number {n}", "Hello."))
    assert [subject(email) for email in mail.wait_for(3)] == ["Number 0", "Number 1", "Number 2"]
    mail.clear()
    assert mail.emails() == []


def test_waiting_for_more_than_arrives_says_what_came(mail):
    send(mail.smtp_port, message("sam@example.org", "Only one", "Hello."))
    with pytest.raises(AssertionError, match=r"2 emails expected.*'Only one'"):
        mail.wait_for(2, timeout=0.5)


def listening_addresses(port: int) -> set[str]:
    """The addresses something listens on at this TCP port (/proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_make_runs_mail_server_is_on_this_machine_only_keeps_mail_in_var_run_logs_no_one(
    tmp_path, logs_dir
):
    smtp_port, web_port = free_port(), free_port()
    env = os.environ | {
        "FAMILYTIES_VAR_DIR": str(tmp_path),
        "SMTP_PORT": str(smtp_port),
        "MAIL_WEB_PORT": str(web_port),
        # would listen on every address and send the caught mail on, were they passed to it
        "MAILDEV_WEB_IP": "0.0.0.0",
        "MAILDEV_IP": "0.0.0.0",
        "MAILDEV_OUTGOING_HOST": "relay.example.org",
    }
    with open(logs_dir / f"deploy-local-mail-{smtp_port}.log", "wb") as log:
        process = subprocess.Popen(
            [ROOT / "deploy/local/mail"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        catcher = MailCatcher(smtp_port, web_port)
        assert wait_for(catcher.ready, timeout=30), f"see {log.name}"
        loopback = "0100007F"  # 127.0.0.1, as /proc/net/tcp writes it
        assert listening_addresses(smtp_port) == listening_addresses(web_port) == {loopback}

        send(smtp_port, message("sam@example.org", "Kept for the run", "Hello."))
        assert [subject(email) for email in catcher.wait_for(1)] == ["Kept for the run"]
        mail_dir = tmp_path / "run" / "mail"
        assert [path.suffix for path in mail_dir.iterdir()] == [".eml"]
        assert stat.S_IMODE(mail_dir.stat().st_mode) == 0o700
        logged = Path(log.name).read_text()
        assert "a message was caught" in logged
        for secret in ("relay.example.org", "sam@example.org", "Kept for the run"):
            assert secret not in logged  # no relay; nobody's address, no subject in the log
    finally:
        stop(process)
