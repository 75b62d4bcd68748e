"""Discovery knows who needs a sign-in with the provider (OAuth 2): by the address's domain from the
bundled provider data, and for any other domain by its MX records (real DNS server on loopback), within
the discovery budget."""

import time

import pytest

import faultservers
from discoveryenv import ALICE, options, srv_zone
from dnsserver import DnsServer
from mailcore.discovery import discover

BUDGET = 3


@pytest.mark.parametrize(
    ("address", "provider", "password_works"),
    [
        ("someone@outlook.com", "microsoft", False),
        ("someone@hotmail.de", "microsoft", False),
        ("someone@live.fr", "microsoft", False),
        ("someone@msn.com", "microsoft", False),
        ("someone@gmail.com", "google", True),
        ("someone@googlemail.com", "google", True),
        ("someone@yahoo.com", None, True),
    ],
)
def test_the_address_alone_says_who_needs_a_sign_in(address, provider, password_works):
    with DnsServer({}) as dns:
        result = discover(address, budget=BUDGET, options=options(dns))
    assert (result.oauth_provider, result.password_works) == (provider, password_works)
    assert not dns.queries or provider is None  # the bundled data answered: no look-up needed


@pytest.mark.parametrize(
    ("mx_records", "provider", "password_works"),
    [
        (["0 example-test.mail.protection.outlook.com."], "microsoft", False),
        (["1 aspmx.l.google.com.", "5 alt1.aspmx.l.google.com."], "google", True),
        (["5 alt2.aspmx.l.google.com."], "google", True),
        (["1 smtp.google.com."], "google", True),
    ],
)
def test_any_other_domain_by_its_mx_records(servers, mx_records, provider, password_works):
    started = time.monotonic()
    with DnsServer({("example.test", "MX"): mx_records}) as dns:
        result = discover(ALICE, budget=BUDGET, options=options(dns))
    assert (result.oauth_provider, result.password_works) == (provider, password_works)
    assert ("example.test.", "MX") in dns.queries
    assert time.monotonic() - started < BUDGET + faultservers.SLACK


def test_a_domain_of_its_own_needs_no_sign_in(servers):
    with DnsServer({("example.test", "MX"): ["10 mx.example.net."]}) as dns:
        result = discover(ALICE, budget=BUDGET, options=options(dns))
    assert (result.oauth_provider, result.password_works) == (None, True)


def test_a_password_is_not_tried_where_only_the_sign_in_works(servers):
    with DnsServer({("example.test", "MX"): ["0 example-test.mail.protection.outlook.com."]}) as dns:
        result = discover(ALICE, "a password", budget=BUDGET, options=options(dns))
    assert (result.oauth_provider, result.password_works, result.check) == ("microsoft", False, None)
    assert result.reason().endswith("accepts no password from mail programs, only a sign-in on its own page (OAuth2).")


def test_a_password_check_does_not_stand_for_a_sign_in(servers):
    """Discovery checked the found servers with a password; the same servers with a token are not checked."""
    with DnsServer(srv_zone(servers, "example.test")) as dns:
        password = servers["users"]["alice"]["password"]
        result = discover(ALICE, password, options=options(dns, use_mx=False, cafile=servers["ca_file"]))
    assert result.ok and result.oauth_provider is None
    assert result.check_of(result.outgoing, result.incoming) is result.check
    signed_in = [server.replace(auth="oauth2", password="a-token") for server in (result.outgoing, result.incoming)]
    assert result.check_of(*signed_in) is None
