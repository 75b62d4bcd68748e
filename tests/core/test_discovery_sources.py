"""Each discovery source alone, then all of them ranked together, against a real DNS server, a real
HTTPS server with the test CA, and the harness's Dovecot behind the names they give."""

from discoveryenv import ALICE, document, harness_guess_ports, options, srv_zone, xml_route
from dnsserver import DnsServer
from httpsserver import HttpsServer
from mailcore.discovery import DEFAULT_BUDGET, discover


def _password(servers):
    return servers["users"]["alice"]["password"]


def test_srv_records_alone_are_found_and_checked(servers):
    zone = {
        **srv_zone(servers, "example.test"),
        # RFC 6186 "." target: POP3 is decidedly not offered; a lower-priority target comes second.
        ("_pop3s._tcp.example.test", "SRV"): ["0 0 0 ."],
        ("_submissions._tcp.example.test", "SRV"): [
            f"10 1 {servers['dovecot']['main']['submissions']} localhost.",
            f"0 1 {servers['dovecot']['main']['submissions']} smtp.example.test.",
        ],
    }
    with DnsServer(zone) as dns:
        found = discover(ALICE, options=options(dns, use_mx=False, cafile=servers["ca_file"]))
        checked = discover(ALICE, _password(servers), options=options(dns, use_mx=False, cafile=servers["ca_file"]))
    assert found.ok and found.configuration.source == "srv"
    assert found.configuration.describe() == "from the DNS SRV records of example.test"
    assert [s.protocol for s in found.configuration.incoming] == ["imap"]
    assert [(s.host, s.security) for s in found.configuration.outgoing] == [
        ("smtp.example.test", "ssl"),
        ("localhost", "ssl"),
        ("localhost", "starttls"),
    ]
    assert found.incoming.login == ALICE and found.check is None
    assert checked.ok, checked.reason()
    assert checked.check.incoming.ok and checked.check.outgoing.ok
    # smtp.example.test resolves to 127.0.0.1 too, but its certificate names localhost: the next one passed.
    assert checked.outgoing.host == "localhost"


def test_domain_autoconfig_alone_is_found_with_the_address_in_the_query(servers):
    routes = {("autoconfig.example.test", "/mail/config-v1.1.xml"): xml_route(document(servers))}
    with (
        DnsServer(wildcard_a=("example.test",)) as dns,
        HttpsServer(servers, ["autoconfig.example.test"], routes) as web,
    ):
        result = discover(ALICE, _password(servers), options=options(dns, web, use_mx=False, cafile=servers["ca_file"]))
    assert result.ok, result.reason()
    assert result.configuration.source == "autoconfig"
    assert result.configuration.describe() == "from the autoconfig document of example.test"
    assert ("autoconfig.example.test", "/mail/config-v1.1.xml?emailaddress=alice%40example.test") in web.requests


def test_well_known_autoconfig_is_the_second_place_asked(servers):
    routes = {
        ("example.test", "/.well-known/autoconfig/mail/config-v1.1.xml"): xml_route(document(servers, incoming="pop3s"))
    }
    with (
        DnsServer(wildcard_a=("example.test",)) as dns,
        HttpsServer(servers, ["example.test", "autoconfig.example.test"], routes) as web,
    ):
        result = discover(ALICE, options=options(dns, web, use_mx=False, cafile=servers["ca_file"]))
    assert result.ok, result.reason()
    assert (result.incoming.protocol, result.incoming.port) == ("pop3", servers["dovecot"]["main"]["pop3s"])
    assert result.configuration.detail.endswith("/.well-known/autoconfig/mail/config-v1.1.xml")


def test_ispdb_url_is_a_parameter(servers):
    routes = {("ispdb.example.test", "/v1.1/example.test"): xml_route(document(servers))}
    with (
        DnsServer(wildcard_a=("ispdb.example.test",)) as dns,
        HttpsServer(servers, ["ispdb.example.test"], routes) as web,
    ):
        ispdb = f"https://ispdb.example.test:{web.port}/v1.1/"
        result = discover(
            ALICE,
            options=options(dns, web, ispdb_url=ispdb, use_autoconfig=False, use_mx=False, cafile=servers["ca_file"]),
        )
        switched_off = discover(
            ALICE,
            options=options(dns, web, ispdb_url="", use_autoconfig=False, use_mx=False, cafile=servers["ca_file"]),
        )
    assert result.ok and result.configuration.source == "ispdb"
    assert result.configuration.describe() == "from Thunderbird's online provider database"
    assert not switched_off.ok and switched_off.configuration is None
    assert "Nothing was found" in switched_off.reason()


def test_mx_base_domain_is_fed_back_into_the_sources(servers):
    zone = {
        ("example.test", "MX"): ["20 backup.other.test.", "10 mx1.eu.hosting.test."],
        **srv_zone(servers, "hosting.test"),
    }
    with DnsServer(zone) as dns:
        result = discover(ALICE, _password(servers), options=options(dns, cafile=servers["ca_file"]))
    assert result.ok, result.reason()
    assert result.configuration.source == "srv" and result.configuration.domain == "hosting.test"
    assert result.configuration.via_mx == "mx1.eu.hosting.test"
    assert result.configuration.describe() == (
        "from the MX records of example.test (mail exchanger mx1.eu.hosting.test), "
        "then from the DNS SRV records of hosting.test"
    )


def _guess(servers, names):
    """Discovery by guessing alone, with the password, where only ``names`` of example.test resolve.
    Three times the default budget: 20 probes and then each candidate's check take about 1 s here,
    but over 10 s on a starved machine; the budget itself is test_discovery_budget's subject."""
    zone = {(f"{name}.example.test", "A"): ["127.0.0.1"] for name in names}
    with DnsServer(zone) as dns:
        return discover(
            ALICE,
            _password(servers),
            budget=3 * DEFAULT_BUDGET,
            options=options(dns, use_guess=True, guess_ports=harness_guess_ports(servers), cafile=servers["ca_file"]),
        )


def test_guessing_probes_the_usual_names_and_reads_the_login_methods(servers):
    # Only imap., smtp. and mail. exist; the bare domain, pop. and pop3. do not resolve.
    result = _guess(servers, ("imap", "smtp", "mail"))
    configuration = result.configuration
    assert configuration.source == "guess"
    assert (result.incoming.host, result.incoming.security) == ("imap.example.test", "ssl")
    assert (result.outgoing.host, result.outgoing.security) == ("smtp.example.test", "ssl")
    assert result.incoming.safe_logon and result.outgoing.safe_logon  # CRAM-MD5/SCRAM offered
    # The guessed names are not on the certificate: the check says so rather than trusting a guess.
    assert not result.ok and result.check.incoming.code == "certificate_hostname_mismatch"


def test_guessing_probes_the_pop3_names_when_no_imap_name_answers(servers):
    """Guessing ends as soon as each side's best-ranked candidate answered, so POP3 on a name that
    also serves IMAP may or may not have answered by then: here no IMAP name resolves, so POP3 is
    the best incoming candidate and is always found."""
    result = _guess(servers, ("pop3", "smtp"))
    assert result.configuration.source == "guess"
    assert (result.incoming.protocol, result.incoming.host, result.incoming.security) == (
        "pop3",
        "pop3.example.test",
        "ssl",
    )
    assert result.incoming.port == servers["dovecot"]["main"]["pop3s"]
    assert result.incoming.safe_logon  # Dovecot's POP3 offers SASL CRAM-MD5/SCRAM and APOP
    assert not result.ok and result.check.incoming.code == "certificate_hostname_mismatch"


def test_ranking_bundled_then_autoconfig_then_ispdb_then_srv(servers):
    """All sources answer for one domain: the best-ranked one that passes wins, whatever came first."""
    good, broken = document(servers), document(servers, instance="expired")
    routes = {
        ("autoconfig.example.test", "/mail/config-v1.1.xml"): xml_route(broken),
        ("ispdb.example.test", "/example.test"): xml_route(good),
    }
    zone = srv_zone(servers, "example.test")
    names = ["autoconfig.example.test", "ispdb.example.test"]
    with DnsServer(zone, wildcard_a=("example.test",)) as dns, HttpsServer(servers, names, routes) as web:
        opts = options(
            dns, web, ispdb_url=f"https://ispdb.example.test:{web.port}/", use_mx=False, cafile=servers["ca_file"]
        )
        unchecked = discover(ALICE, options=opts)
        checked = discover(ALICE, _password(servers), options=opts)
        srv_only = discover(ALICE, _password(servers), options=opts.replace(use_autoconfig=False, use_ispdb=False))
    assert [c.source for c in unchecked.candidates][:1] == ["autoconfig"]
    assert unchecked.configuration.source == "autoconfig"
    # The domain's autoconfig points at a server with an expired certificate: the ISPDB's passes.
    assert checked.ok and checked.configuration.source == "ispdb"
    assert {c.source for c in checked.candidates} == {"autoconfig", "ispdb", "srv"}
    assert srv_only.ok and srv_only.configuration.source == "srv"


def test_nothing_found_says_why_and_offers_no_candidate(servers):
    with DnsServer() as dns:
        result = discover(ALICE, "pw", options=options(dns))
    assert not result.ok and result.configuration is None
    reason = result.reason()
    lines = reason.splitlines()
    assert lines[0] == "Nothing was found:"
    assert "• Thunderbird's provider database: nothing for example.test" in lines
    assert "• the DNS SRV records of example.test: nothing found" in lines
    assert "• the MX records of example.test: no MX records" in lines
    assert "Errno" not in reason


def test_a_target_our_dns_servers_do_not_know_is_not_found_rather_than_asked_elsewhere(servers):
    with DnsServer(srv_zone(servers, "example.test", target="missing.example.test.")) as dns:
        result = discover(ALICE, "pw", options=options(dns, use_mx=False))
    assert not result.ok and result.configuration.source == "srv"
    assert result.check.incoming.code == "host_not_found" and result.check.outgoing.code == "host_not_found"
    assert "could not be found" in result.reason()
