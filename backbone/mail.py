"""Sending email over SMTP, as Settings' smtp_* say (STARTTLS, implicit TLS or neither, and
a login when configured), from `mail_from`. Notifications' email channel sends through it,
and so does intake's invitation of partners' users. A send answers an Outcome and never
raises for a failed send."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from backbone.settings import Settings


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt to deliver a message (an email, or notifications'
    webhook, which answers the same)."""

    delivered: bool
    retryable: bool = False
    status_code: int | None = None
    error: str | None = None
    retry_after_seconds: float | None = None
    gone: bool = False  # the endpoint says it is gone for good (410)


def new_email(
    settings: Settings, to: str, subject: str, text: str, html: str | None, message_id: str
) -> EmailMessage:
    """An automatic email from `mail_from`: plain text, and HTML beside it if given.
    `message_id` is the left part of its Message-ID (the same on a repeat of one message,
    so a mail client shows a repeat as one message)."""
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = to
    email["Subject"] = subject
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = f"<{message_id}>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    email.set_content(text)
    if html is not None:
        email.add_alternative(html, subtype="html")
    return email


class Mailer:
    """Sends over SMTP. Each sending thread keeps its connection open between messages;
    `close` drops the calling thread's (a sender of rare messages closes after each)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._local = threading.local()

    def send(self, email: EmailMessage) -> Outcome:
        for attempt in (1, 2):  # a connection the server closed while idle: one more try
            try:
                self._connection().send_message(email)
                return Outcome(delivered=True, status_code=250)
            except smtplib.SMTPServerDisconnected as error:
                self._drop()
                if attempt == 2:
                    return Outcome(False, retryable=True, error=f"disconnected: {error}"[:200])
            except smtplib.SMTPRecipientsRefused as error:
                self._drop()
                code = min(code for code, _ in error.recipients.values())
                return _smtp_refusal(code, "recipient refused")
            except smtplib.SMTPResponseException as error:
                self._drop()
                return _smtp_refusal(error.smtp_code, type(error).__name__)
            except (OSError, smtplib.SMTPException) as error:
                self._drop()
                return Outcome(False, retryable=True, error=f"{type(error).__name__}"[:200])
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._drop()

    def _connection(self) -> smtplib.SMTP:
        connection = getattr(self._local, "smtp", None)
        if connection is None:
            s = self.settings
            context = ssl.create_default_context()
            if s.smtp_security == "tls":
                connection = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=context
                )
            else:
                connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
                if s.smtp_security == "starttls":
                    connection.starttls(context=context)
            if s.smtp_username and s.smtp_password:
                connection.login(s.smtp_username, s.smtp_password.reveal())
            self._local.smtp = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()


def _smtp_refusal(code: int, what: str) -> Outcome:
    # 4xx: try again later (a full mailbox, greylisting); 5xx: this message will not go.
    return Outcome(False, retryable=400 <= code < 500, status_code=code, error=f"{what} ({code})")
