"""Discovery on an Odoo server that cannot resolve names: it says so once, and never blames or
suggests a name that only failed because nothing resolves."""

import contextlib
import socket

from discoveryenv import options
from dnsserver import DnsServer
from mailcore.discovery import discover

GMAIL = "someone@gmail.com"
OFFLINE = "This Odoo server cannot resolve names or reach the internet"


def dead_port():
    """A UDP port nothing listens on: a DNS server that is not there."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dead:
    port = None


def offline_options(port):
    dead = Dead()
    dead.port = port
    return options(dead, use_guess=True)


def test_known_provider_without_dns_says_once_that_nothing_resolves():
    result = discover(GMAIL, "app-password", budget=3, options=offline_options(dead_port()))
    reason = result.reason()
    assert not result.ok and result.configuration.provider
    assert result.offline
    assert reason.count(OFFLINE) == 1
    assert "127.0.0.1" in reason  # the DNS server it asked
    assert "getent hosts gmail.com" in reason
    assert "could not be found" not in reason and "misspelt" not in reason
    assert "for example smtp" not in reason
    assert "found from Thunderbird's provider database but could not be checked" in reason
    assert result.incoming.host == "imap.gmail.com"


def test_a_refusing_dns_server_is_no_dns_either():
    with DnsServer(refuse=True) as dns:
        result = discover(GMAIL, "app-password", budget=3, options=options(dns, use_guess=True))
    assert result.offline
    assert result.reason().count(OFFLINE) == 1
    assert "could not be found" not in result.reason()
    # What the check names is what the wizard proposes: the best-ranked server of each side.
    for side in ("incoming", "outgoing"):
        assert getattr(result.check, side).params["host"] == getattr(result, side).host
    assert result.incoming.host == "imap.gmail.com"


def test_a_name_that_does_not_exist_is_still_not_found():
    with DnsServer() as dns:  # answers: NXDOMAIN for every name
        result = discover(GMAIL, "app-password", budget=3, options=options(dns))
    assert not result.offline
    assert OFFLINE not in result.reason()
    assert result.check.incoming.code == "host_not_found"
    assert result.check.incoming.params["host"] == result.incoming.host == "imap.gmail.com"
