"""What a real local mail server (MailDev) caught, read through its HTTP API.

An email is MailDev's JSON for it: "subject", "from", "to", "cc" (lists of {"address",
"name"}), "headers", "text", "html", "envelope" (the SMTP sender and recipients)...
"""

from __future__ import annotations

import time

import requests


class MailCatcher:
    """A client of one MailDev: its SMTP port (where the system sends) and web port."""

    def __init__(self, smtp_port: int, web_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.smtp_port = smtp_port
        self.web_port = web_port
        self.url = f"http://{host}:{web_port}"

    def emails(self) -> list[dict]:
        """Every email caught, oldest first."""
        answer = requests.get(f"{self.url}/api/email", params={"sort": "asc"}, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def clear(self) -> None:
        requests.delete(f"{self.url}/api/email/all", timeout=10).raise_for_status()

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        """The emails caught, once there are at least `count`."""
        deadline = time.monotonic() + timeout
        while len(caught := self.emails()) < count:
            if time.monotonic() > deadline:
                seen = [(subject(email), recipients(email)) for email in caught]
                raise AssertionError(f"{count} emails expected within {timeout} s, got {seen}")
            time.sleep(0.1)
        return caught

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/api/healthz", timeout=2).ok
        except requests.RequestException:
            return False


def recipients(email: dict) -> list[str]:
    """Every address it was sent to (the SMTP envelope: To, Cc and Bcc alike)."""
    return [to["address"] for to in email["envelope"]["to"]]


def sender(email: dict) -> str:
    """The From header's address."""
    return email["from"][0]["address"]


def subject(email: dict) -> str:
    return email["subject"]


def text(email: dict) -> str | None:
    """The plain-text part. Beware: for an email with only an HTML part, MailDev makes one
    from the HTML."""
    return email.get("text")


def html(email: dict) -> str | None:
    """The HTML part, if it has one."""
    return email.get("html")
