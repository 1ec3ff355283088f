"""Which webhook URLs and addresses the notifications service may call.

A partner names the URL, so a careless or hostile one could point it at something only
this service can reach: the cloud metadata service, the database, an admin page on
127.0.0.1. Every decision is made here, on the addresses a name resolves to, before any
connection; the client then connects to exactly those addresses (no second lookup, so a
name cannot resolve to a public address for the check and a private one for the call).

Pure: the only I/O is the injected resolver.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> the IP addresses the host resolves to, as strings."""

MAX_URL_LENGTH = 2000
_DEFAULT_PORTS = {"https": 443, "http": 80}
# A host name's characters (ASCII only: an internationalised name is written as xn--).
_HOST_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")
# Printable ASCII except space and backslash (which browsers read as "/", urlsplit does not).
_URL_CHARACTERS = re.compile(r"[!-\[\]-~]+")

# Explicit tables, not only ipaddress's is_private and is_global: those lists changed
# between Python releases (3.11.7 calls multicast and fec0::/10 global, for example).
_V4_PRIVATE = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_V4_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT
_V4_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_V6_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V6_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_V6_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")

_PUBLIC_ONLY = "webhooks are sent only to public addresses"


class RefusedAddress(ValueError):
    """A webhook URL or address refused; the message says why, in words for the partner."""


@dataclass(frozen=True)
class Target:
    """The parts of a checked webhook URL that a call needs."""

    scheme: str
    hostname: str  # lower case, without brackets
    port: int
    host_header: str  # as the Host header carries it: brackets for IPv6, a non-default port
    request_target: str  # path and query, as sent in the request line


def system_resolver(host: str, port: int) -> list[str]:
    """The machine's resolver; raises OSError (socket.gaierror) when the name does not resolve."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except UnicodeError as error:  # the idna codec's verdict on a malformed name
        raise socket.gaierror(f"{host}: {error}") from None
    return [str(sockaddr[0]) for family, _, _, _, sockaddr in found if family in _IP_FAMILIES]


_IP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def parse_target(url: str, allow_private: bool) -> Target:
    """Check a webhook URL's form and answer its parts, or raise RefusedAddress."""
    if not url:
        raise RefusedAddress("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise RefusedAddress(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if not url.isascii():
        raise RefusedAddress(
            "the URL has characters outside ASCII: write the host name in its xn-- form "
            "and percent-encode the path"
        )
    if not _URL_CHARACTERS.fullmatch(url):
        raise RefusedAddress("the URL must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedAddress(f"the URL cannot be read ({error})") from None
    scheme = parts.scheme.lower()
    if scheme == "http" and not allow_private:
        raise RefusedAddress("only https URLs are accepted, not http")
    if scheme not in _DEFAULT_PORTS:
        shown = f"{scheme}:" if scheme else "a URL without a scheme"
        raise RefusedAddress(f"only https URLs are accepted, not {shown}")
    if "@" in parts.netloc:
        raise RefusedAddress("the URL must not contain a user name or password")
    if "#" in url:
        raise RefusedAddress("the URL must not have a fragment (#...)")
    hostname = parts.hostname
    if not hostname:
        raise RefusedAddress("the URL has no host")
    if port == 0:
        raise RefusedAddress("the URL's port must be from 1 to 65535")
    if _ip_or_none(hostname) is None and not _is_host_name(hostname):
        raise RefusedAddress("the URL's host is neither a host name nor an IP address")
    default_port = _DEFAULT_PORTS[scheme]
    shown_host = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None and port != default_port:
        shown_host = f"{shown_host}:{port}"
    request_target = parts.path or "/"
    if parts.query:
        request_target = f"{request_target}?{parts.query}"
    return Target(
        scheme=scheme,
        hostname=hostname,
        port=port or default_port,
        host_header=shown_host,
        request_target=request_target,
    )


def check_url(url: str, allow_private: bool) -> None:
    """Raise RefusedAddress if the URL's form is not one webhooks may be sent to.

    Only https (and http when allow_private, for local development); a host; no user name
    or password, no fragment; at most 2000 characters.
    """
    parse_target(url, allow_private)


def is_refused_ip(ip: str | IPAddress, allow_private: bool) -> str | None:
    """Why an address is refused ("a private address"), or None when it may be called.

    Loopback, private and link-local addresses (and the shared carrier-grade NAT range)
    are allowed only when allow_private; unspecified, multicast, reserved and other
    non-public addresses never. An IPv6 form that carries an IPv4 address is judged by
    the IPv4 address it carries: IPv4-mapped as that address, NAT64 and 6to4 as public
    or never.
    """
    try:
        address = ip if not isinstance(ip, str) else ipaddress.ip_address(ip)
    except ValueError:
        return "not an IP address"
    if isinstance(address, ipaddress.IPv6Address):
        return _refused_v6(address, allow_private)
    return _refused_v4(address, allow_private)


def addresses_for(target: Target, allow_private: bool, resolver: Resolver) -> list[str]:
    """The addresses to connect to for a parsed URL, all checked, or raise RefusedAddress.

    A name with any refused address among its addresses is refused as a whole: the
    connection could go to any of them. Raises OSError when the name does not resolve.
    """
    literal = _ip_or_none(target.hostname)
    if literal is not None:
        reason = is_refused_ip(literal, allow_private)
        if reason is not None:
            raise RefusedAddress(f"{literal} is {reason}: {_PUBLIC_ONLY}")
        return [str(literal)]
    resolved = resolver(target.hostname, target.port)
    if not resolved:
        raise socket.gaierror(f"{target.hostname} resolves to no address")
    addresses: list[str] = []
    for found in resolved:
        reason = is_refused_ip(found, allow_private)
        if reason is not None:
            raise RefusedAddress(f"{target.hostname} resolves to {found}, {reason}: {_PUBLIC_ONLY}")
        normalised = str(ipaddress.ip_address(found))
        if normalised not in addresses:
            addresses.append(normalised)
    return addresses


def addresses_to_call(url: str, allow_private: bool, resolver: Resolver) -> list[str]:
    """Check the URL, resolve its host, and answer the addresses to connect to.

    Raises RefusedAddress for a refused URL or address, OSError when the name does not
    resolve.
    """
    return addresses_for(parse_target(url, allow_private), allow_private, resolver)


def _is_host_name(host: str) -> bool:
    # Labels of 1 to 63 characters, 253 in all (a final dot allowed): what a resolver
    # accepts, so a name never fails there for its form.
    labels = host.removesuffix(".").split(".")
    return (
        _HOST_NAME.fullmatch(host) is not None
        and len(host) <= 254
        and all(1 <= len(label) <= 63 for label in labels)
    )


def _ip_or_none(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _refused_v4(address: ipaddress.IPv4Address, allow_private: bool) -> str | None:
    if address.is_unspecified:
        return "an unspecified address"
    if address in _V4_THIS_NETWORK:
        return "an address of 'this network' (0.0.0.0/8)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:  # 240.0.0.0/4, the broadcast address among them
        return "a reserved address"
    if address.is_loopback:
        reason = "a loopback address"
    elif address.is_link_local:
        reason = "a link-local address"
    elif any(address in network for network in _V4_PRIVATE):
        reason = "a private address"
    elif address in _V4_SHARED:
        reason = "a shared (carrier-grade NAT) address"
    elif not address.is_global:
        # Documentation, benchmarking and protocol-assignment ranges: never a partner.
        return "an address that is not publicly routable"
    else:
        return None
    return None if allow_private else reason


def _refused_v6(address: ipaddress.IPv6Address, allow_private: bool) -> str | None:
    # Forms that carry an IPv4 address reach that address: judge by it. An IPv4-mapped
    # address is this machine's own IPv4 socket; a translated one (NAT64, 6to4) goes
    # through a gateway, where a non-public address is never a partner's.
    mapped = address.ipv4_mapped
    if mapped is not None:
        return _carried("an IPv4-mapped form of", mapped, allow_private)
    if address in _V6_NAT64:
        carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return _carried("a NAT64 form of", carried, allow_private=False)
    if address.sixtofour is not None:
        return _carried("a 6to4 form of", address.sixtofour, allow_private=False)
    if address.teredo is not None:
        return "a Teredo tunnel address"
    if address in _V6_LOCAL_NAT64:
        return "a local-use NAT64 address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:
        reason = "a loopback address"
    elif address.is_link_local:
        reason = "a link-local address"
    elif address in _V6_UNIQUE_LOCAL or address.is_site_local:
        reason = "a private address"
    elif address.is_reserved:
        # After loopback (::1 is in the reserved ::/8): includes IPv4-compatible ::a.b.c.d.
        return "a reserved address"
    elif not address.is_global:
        return "an address that is not publicly routable"
    else:
        return None
    return None if allow_private else reason


def _carried(form: str, carried: ipaddress.IPv4Address, allow_private: bool) -> str | None:
    reason = _refused_v4(carried, allow_private)
    return None if reason is None else f"{form} {reason}"
