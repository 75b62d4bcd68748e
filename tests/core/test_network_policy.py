"""Probing the Odoo host's own network: with ``allow_internal`` off (what the addon passes for anyone but
an administrator, and for discovery), no connection goes to a loopback, private or link-local address,
whatever name leads there; autoconfig redirects keep their port. Real servers on loopback show it."""

import pytest

import faultservers
from accounts import settings_for
from discoveryenv import ALICE, document, harness_guess_ports, options, srv_zone, xml_route
from dnsserver import DnsServer
from httpsserver import HttpsServer
from mailcore import check_server
from mailcore.discovery import discover
from mailcore.probe import is_internal


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),  # cloud metadata
        ("100.64.0.1", True),  # carrier-grade NAT
        ("0.0.0.0", True),
        ("::1", True),
        ("fe80::1%eth0", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),
        ("93.184.215.14", False),
        ("2a00:1450:4001:80b::2005", False),
    ],
)
def test_internal_addresses(address, internal):
    assert is_internal(address) is internal


def test_a_check_never_connects_to_an_internal_address_unless_allowed(servers):
    with faultservers.ScriptedServer(faultservers.say_and_wait(b"220 banner of an internal service\r\n")) as server:
        settings = settings_for(servers, "smtp", "starttls", port_key="submission").replace(port=server.port)
        refused = check_server(settings.replace(allow_internal=False), timeout=3)
        assert not server.connections, "no connection was opened"
        allowed = check_server(settings, timeout=3)
    assert (refused.code, refused.stage, refused.params["address"]) == ("internal_address", "resolve", "127.0.0.1")
    assert "banner" not in refused.message
    assert allowed.code != "internal_address" and server.connections


def test_discovery_probes_nothing_internal_unless_allowed(servers):
    guess_ports = harness_guess_ports(servers)
    zone = {
        **srv_zone(servers, "example.test"),
        **{(f"{name}.example.test", "A"): ["127.0.0.1"] for name in ("imap", "smtp", "mail", "autoconfig")},
    }
    routes = {("autoconfig.example.test", "/mail/config-v1.1.xml"): xml_route(document(servers))}
    password = servers["users"]["alice"]["password"]
    with DnsServer(zone) as dns, HttpsServer(servers, ["autoconfig.example.test"], routes) as web:
        values = {"use_guess": True, "guess_ports": guess_ports, "use_mx": False, "cafile": servers["ca_file"]}
        refused = discover(ALICE, password, options=options(dns, web, allow_internal=False, **values))
        assert not web.requests, "the autoconfig document was not even asked for"
        allowed = discover(ALICE, password, options=options(dns, web, **values))
    assert not refused.ok
    assert refused.check is None or all(
        side is None or side.code == "internal_address" for side in (refused.check.incoming, refused.check.outgoing)
    )
    assert allowed.ok, allowed.reason()


def test_an_autoconfig_redirect_to_another_port_is_refused(servers):
    host, path = "autoconfig.example.test", "/mail/config-v1.1.xml"
    with DnsServer(wildcard_a=("example.test",)) as dns:
        with HttpsServer(servers, [host], {(host, "/x"): xml_route(document(servers))}) as other:
            routes = {(host, path): (302, {"Location": f"https://{host}:{other.port}/x"}, b"")}
            with HttpsServer(servers, [host, "example.test"], routes) as web:
                values = {"use_mx": False, "use_srv": False, "cafile": servers["ca_file"]}
                result = discover(ALICE, options=options(dns, web, **values))
            assert not other.requests
    assert not result.ok and "another port" in result.reason()
