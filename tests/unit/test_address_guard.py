"""Which webhook URLs and addresses are refused: decisions only, with an injected resolver.

No sockets: nothing here connects anywhere, not even to prove a refusal.
"""

from __future__ import annotations

import socket

import pytest

from services.notifications.address_guard import (
    RefusedAddress,
    addresses_to_call,
    check_url,
    is_refused_ip,
    parse_target,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:4700::1"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any test here that looks up a name or connects: decisions only."""

    def refuse(*args, **kwargs):
        raise AssertionError("the address guard's tests must not touch the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def resolver_of(table: dict[str, list[str]]):
    """A resolver answering from a table, recording what it was asked."""
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        if host not in table:
            raise socket.gaierror(f"{host} not in the table")
        return table[host]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("10.255.255.254", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("169.254.0.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared"),
        ("::ffff:10.0.0.1", "IPv4-mapped form of a private"),
        ("::ffff:127.0.0.1", "IPv4-mapped form of a loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped form of a link-local"),
    ],
)
def test_local_addresses_are_refused_unless_private_addresses_are_allowed(address, reason):
    refused = is_refused_ip(address, allow_private=False)
    assert refused is not None and reason in refused
    assert is_refused_ip(address, allow_private=True) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "this network"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::a00:1", "reserved"),  # IPv4-compatible, deprecated
        ("::ffff:0.0.0.0", "IPv4-mapped form of an unspecified"),
        ("::ffff:224.0.0.1", "IPv4-mapped form of a multicast"),
        ("64:ff9b::a00:1", "NAT64 form of a private"),
        ("64:ff9b:1::1", "local-use NAT64"),
        ("2002:a00:1::1", "6to4 form of a private"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("192.0.2.1", "not publicly routable"),  # documentation
        ("198.18.0.1", "not publicly routable"),  # benchmarking
        ("2001:db8::1", "not publicly routable"),
        ("not an address", "not an IP address"),
    ],
)
def test_addresses_that_are_never_allowed(address, reason):
    for allow_private in (False, True):
        refused = is_refused_ip(address, allow_private=allow_private)
        assert refused is not None and reason in refused


@pytest.mark.parametrize(
    "address",
    [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"],
)
def test_public_addresses_are_allowed(address):
    assert is_refused_ip(address, allow_private=False) is None
    assert is_refused_ip(address, allow_private=True) is None


def test_a_public_name_answers_its_addresses():
    resolve = resolver_of({"hooks.partner.example": [PUBLIC_V4, PUBLIC_V6, PUBLIC_V4]})
    addresses = addresses_to_call("https://hooks.partner.example/in", False, resolve)
    assert addresses == [PUBLIC_V4, PUBLIC_V6]
    assert resolve.asked == [("hooks.partner.example", 443)]


def test_a_name_resolving_to_a_private_address_is_refused():
    resolve = resolver_of({"intranet.partner.example": ["10.1.2.3"]})
    with pytest.raises(RefusedAddress, match=r"intranet.partner.example resolves to 10.1.2.3"):
        addresses_to_call("https://intranet.partner.example/", False, resolve)
    assert addresses_to_call("https://intranet.partner.example/", True, resolve) == ["10.1.2.3"]


def test_a_name_resolving_to_public_and_private_addresses_is_refused_as_a_whole():
    resolve = resolver_of({"mixed.example": [PUBLIC_V4, "169.254.169.254"]})
    with pytest.raises(RefusedAddress, match=r"169\.254\.169\.254, a link-local address"):
        addresses_to_call("https://mixed.example/", False, resolve)


def test_a_name_resolving_to_a_mapped_private_address_is_refused():
    resolve = resolver_of({"sneaky.example": ["::ffff:10.0.0.1"]})
    with pytest.raises(RefusedAddress, match="IPv4-mapped form of a private address"):
        addresses_to_call("https://sneaky.example/", False, resolve)


def test_an_address_in_the_url_is_judged_without_resolving():
    resolve = resolver_of({})
    with pytest.raises(RefusedAddress, match=r"^127\.0\.0\.1 is a loopback address"):
        addresses_to_call("https://127.0.0.1:8443/hook", False, resolve)
    with pytest.raises(RefusedAddress, match="link-local"):
        addresses_to_call("https://[fe80::1]/hook", False, resolve)
    assert addresses_to_call(f"https://{PUBLIC_V4}/hook", False, resolve) == [PUBLIC_V4]
    assert addresses_to_call(f"https://[{PUBLIC_V6}]/hook", False, resolve) == [PUBLIC_V6]
    assert resolve.asked == []


def test_a_name_that_does_not_resolve_raises_os_error_not_a_refusal():
    with pytest.raises(OSError) as raised:
        addresses_to_call("https://nowhere.example/", False, resolver_of({}))
    assert not isinstance(raised.value, RefusedAddress)
    with pytest.raises(OSError):
        addresses_to_call("https://empty.example/", False, resolver_of({"empty.example": []}))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "not file:"),
        ("gopher://127.0.0.1:25/_HELO", "not gopher:"),
        ("ftp://files.partner.example/", "not ftp:"),
        ("dict://partner.example:11211/stat", "not dict:"),
        ("javascript:alert(1)", "not javascript:"),
        ("//partner.example/hook", "without a scheme"),
        ("partner.example/hook", "without a scheme"),
        ("https://user:secret@partner.example/hook", "user name or password"),
        ("https://partner.example@10.0.0.1/hook", "user name or password"),
        ("https://partner.example/hook#part", "fragment"),
        ("https://partner.example/hook#", "fragment"),
        ("https:///hook", "no host"),
        ("https://partner.example:0/", "port"),
        ("https://partner.example:99999/", "cannot be read"),
        ("https://partner.example:http/", "cannot be read"),
        ("https://partner.example/a b", "spaces"),
        ("https://partner.example/\r\nX-Injected: 1", "control characters"),
        ("https://partner.example\\@10.0.0.1/", "backslashes"),
        ("https://pärtner.example/", "xn--"),
        ("https://%31%30.0.0.1/", "neither a host name nor an IP address"),
        ("https://[::1/", "cannot be read"),
        ("https://partner..example/", "neither a host name"),
        ("https://.partner.example/", "neither a host name"),
        ("https://" + "a" * 64 + ".example/", "neither a host name"),
        ("", "empty"),
        ("https://partner.example/" + "a" * 2000, "longer than 2000"),
    ],
)
def test_urls_refused_for_their_form(url, reason):
    for allow_private in (False, True):
        with pytest.raises(RefusedAddress, match=reason):
            check_url(url, allow_private)


def test_http_is_refused_unless_private_addresses_are_allowed():
    with pytest.raises(RefusedAddress, match="only https URLs are accepted, not http"):
        check_url("http://partner.example/hook", allow_private=False)
    check_url("http://partner.example/hook", allow_private=True)
    check_url("https://partner.example/hook", allow_private=False)
    check_url("HTTPS://Partner.Example/hook", allow_private=False)


def test_a_url_of_2000_characters_is_accepted():
    url = "https://partner.example/"
    check_url(url + "a" * (2000 - len(url)), allow_private=False)


def test_the_target_carries_what_the_request_needs():
    target = parse_target("https://Hooks.Partner.Example:8443/in/?a=1&b=2", False)
    assert (target.scheme, target.hostname, target.port) == ("https", "hooks.partner.example", 8443)
    assert target.host_header == "hooks.partner.example:8443"
    assert target.request_target == "/in/?a=1&b=2"
    default_port = parse_target("https://partner.example:443", False)
    assert (default_port.port, default_port.host_header) == (443, "partner.example")
    assert default_port.request_target == "/"
    v6 = parse_target(f"http://[{PUBLIC_V6}]:8080/x", True)
    assert (v6.hostname, v6.port, v6.host_header) == (PUBLIC_V6, 8080, f"[{PUBLIC_V6}]:8080")


def test_refusals_read_as_words_for_the_partner():
    resolve = resolver_of({"partner.example": ["192.168.0.10"]})
    with pytest.raises(RefusedAddress) as raised:
        addresses_to_call("https://partner.example/hook", False, resolve)
    assert str(raised.value) == (
        "partner.example resolves to 192.168.0.10, a private address: "
        "webhooks are sent only to public addresses"
    )
