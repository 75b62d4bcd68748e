"""Hosted domains recognised by their MX records (real DNS server on loopback), and MX records that
point at this machine or a private network refused, within the budget."""

import time

import pytest

from discoveryenv import ALICE, options, srv_zone
from dnsserver import DnsServer
from mailcore.discovery import discover, providers


@pytest.mark.parametrize(
    ("mx_host", "product", "imap_host"),
    [
        ("aspmx.l.google.com", "Google Workspace", "imap.gmail.com"),
        ("example-test.mail.protection.outlook.com", "Microsoft 365", "outlook.office365.com"),
        ("mx.zoho.com", "Zoho Mail", "imap.zoho.com"),
        ("mx.zoho.eu", "Zoho Mail", "imap.zoho.eu"),
        ("mx.yandex.net", "Yandex 360", "imap.yandex.com"),
        ("emx.mail.ru", "Mail.ru for business", "imap.mail.ru"),
        ("mx00.ionos.de", "IONOS", "imap.1und1.de"),
        ("mx01.kundenserver.de", "IONOS", "imap.1und1.de"),
        ("mx1.mail.ovh.net", "OVHcloud", "ssl0.ovh.net"),
        ("mx00.emig.gmx.net", "GMX", "imap.gmx.net"),
        ("mx-ha03.web.de", "WEB.DE", "imap.web.de"),
        ("in1-smtp.messagingengine.com", "Fastmail", "imap.fastmail.com"),
        ("mx.rzone.de", "Strato", "imap.strato.de"),  # the ISPDB's own MX knowledge, no overlay entry
    ],
)
def test_known_hosting_products_by_their_mx_host(mx_host, product, imap_host):
    configuration = providers.hosted("Jane.Doe@example.test", mx_host, "example.test")
    assert configuration.provider == product
    assert configuration.incoming[0].host == imap_host
    # The user's address is the login on every server, whatever the provider's own addresses use.
    assert {server.login for server in configuration.incoming + configuration.outgoing} == {"Jane.Doe@example.test"}
    assert configuration.describe() == f"from the MX records of example.test: {product}"


def test_a_google_workspace_domain_is_found_through_dns_without_any_other_network(servers):
    with DnsServer({("example.test", "MX"): ["1 smtp.google.com.", "5 alt1.aspmx.l.google.com."]}) as dns:
        result = discover(ALICE, options=options(dns))
    assert result.ok and result.configuration.describe() == "from the MX records of example.test: Google Workspace"
    assert (result.incoming.host, result.incoming.login, result.outgoing.login) == ("imap.gmail.com", ALICE, ALICE)
    assert ("_imaps._tcp.google.com.", "SRV") not in dns.queries  # the bundled answer needs no more look-ups


def test_a_microsoft_365_domain_is_kept_for_the_sign_in_and_says_so(servers):
    with DnsServer({("example.test", "MX"): ["0 example-test.mail.protection.outlook.com."]}) as dns:
        result = discover(ALICE, "app password", budget=3, options=options(dns))
    assert not result.ok and result.configuration.provider == "Microsoft 365"
    assert result.configuration.oauth_only and result.configuration.sign_in == "microsoft"
    assert result.check is None  # the password went nowhere
    assert result.reason().startswith(
        "Microsoft 365 (found from the MX records of example.test: Microsoft 365) accepts no password"
    )


@pytest.mark.parametrize(
    ("records", "refusal"),
    [
        (
            {("example.test", "MX"): ["10 localhost."]},
            "the mail exchanger localhost is this machine or a bare address: refused",
        ),
        (
            {("example.test", "MX"): ["10 127.0.0.1."]},
            "the mail exchanger 127.0.0.1 is this machine or a bare address: refused",
        ),
        (
            {("example.test", "MX"): ["10 mx.corp.test."], ("mx.corp.test", "A"): ["10.1.2.3"]},
            "the mail exchanger mx.corp.test has the private address 10.1.2.3: refused",
        ),
        (
            {("example.test", "MX"): ["10 mx.corp.test."], ("mx.corp.test", "AAAA"): ["fd00::25"]},
            "the mail exchanger mx.corp.test has the private address fd00::25: refused",
        ),
        (
            {("example.test", "MX"): ["10 mx.corp.test."], ("mx.corp.test", "A"): ["169.254.169.254"]},
            "the mail exchanger mx.corp.test has the private address 169.254.169.254: refused",
        ),
    ],
)
def test_an_mx_pointing_at_this_machine_or_a_private_address_is_refused(servers, records, refusal):
    with DnsServer({**records, **srv_zone(servers, "corp.test")}) as dns:
        started = time.monotonic()
        result = discover(ALICE, "pw", budget=2, options=options(dns))
        elapsed = time.monotonic() - started
    assert not result.ok and result.configuration is None
    assert f"• the MX records of example.test: {refusal}" in result.reason().splitlines()
    assert ("_imaps._tcp.corp.test.", "SRV") not in dns.queries  # nothing asked about the MX's domain
    assert elapsed < 2 + 1.5


def test_an_mx_with_a_public_address_is_followed(servers):
    zone = {("example.test", "MX"): ["10 mx.hosting.test."], ("mx.hosting.test", "A"): ["8.8.4.4"]}
    with DnsServer({**zone, **srv_zone(servers, "hosting.test")}) as dns:
        result = discover(ALICE, options=options(dns))
    assert result.ok and result.configuration.source == "srv" and result.configuration.domain == "hosting.test"
