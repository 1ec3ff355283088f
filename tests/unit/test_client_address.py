"""Which address a sign-in is counted against: the peer's, or the client a trusted proxy
names in X-Forwarded-For."""

from __future__ import annotations

import pytest

from backbone.sign_in import client_address, is_trusted_proxy


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        ("127.0.0.2", "", "127.0.0.1", "127.0.0.2"),  # no proxy
        ("127.0.0.2", "127.0.0.9", "127.0.0.1", "127.0.0.2"),  # a client's own header
        ("127.0.0.1", "127.0.0.9", "127.0.0.1", "127.0.0.9"),  # the proxy names it
        ("127.0.0.1", "127.0.0.8, 127.0.0.9", "127.0.0.1", "127.0.0.9"),  # the proxy's hop
        ("127.0.0.1", " , ", "127.0.0.1", "127.0.0.1"),  # names nobody
        ("127.0.0.3", "127.0.0.9", "*", "127.0.0.9"),  # any peer is the proxy
        ("127.0.0.3", "127.0.0.9", "127.0.0.0/29", "127.0.0.9"),  # a network of proxies
        ("127.0.0.8", "127.0.0.9", "127.0.0.0/29", "127.0.0.8"),
        ("::1", "127.0.0.9", "127.0.0.1,::1", "127.0.0.9"),
    ],
)
def test_the_client_address(peer, forwarded_for, trusted, expected):
    assert client_address(peer, forwarded_for, trusted) == expected


@pytest.mark.parametrize(
    ("peer", "trusted", "expected"),
    [
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", " 127.0.0.2 , 127.0.0.1 ", True),
        ("127.0.0.1", "", False),
        ("127.0.0.1", "not an address, 127.0.0.2", False),
        ("", "127.0.0.1", True),  # a UNIX socket: only this machine reaches it
        ("not an address", "*", True),
    ],
)
def test_which_peers_are_trusted_proxies(peer, trusted, expected):
    assert is_trusted_proxy(peer, trusted) is expected
