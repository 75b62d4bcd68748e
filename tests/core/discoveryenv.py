"""Building blocks of the discovery tests: zones, autoconfig documents and options for loopback."""

import contextlib
import json
import os

from dnsserver import Blackhole, DnsServer
from mailcore.discovery import DiscoveryOptions
from mailcore.discovery.guess import PREFIXES, candidates

ALICE = "alice@example.test"


def options(dns, https=None, **changes):
    """Discovery options that ask only our DNS server and our HTTPS server, ISPDB and Microsoft 365's
    Autodiscover off unless given."""
    values = {
        "nameservers": ("127.0.0.1",),
        "dns_port": dns.port,
        "ispdb_url": "",
        "autodiscover_v2_url": "",
        "https_port": https.port if https else 9,
        "http_port": https.port if https else 9,
        "use_guess": False,
        "extra_ports": harness_ports(),
    }
    values.update(changes)
    return DiscoveryOptions(**values)


def silent_options(dns, hole):
    """Every source, guessing included, sent to one host that accepts and never speaks."""
    ports = {
        (protocol, security): hole.port for protocol in ("imap", "pop3", "smtp") for security in ("ssl", "starttls")
    }
    return options(
        dns,
        use_guess=True,
        https_port=hole.port,
        extra_ports=frozenset({hole.port}),
        guess_ports=ports,
        ispdb_url=f"https://ispdb.example.test:{hole.port}/",
    )


def harness_guess_ports(servers):
    """Guessing aimed at the harness Dovecot: each (protocol, security) probed on its port."""
    ports = servers["dovecot"]["main"]
    return {
        (protocol, security): ports[servers["services"][protocol][security]]
        for protocol in PREFIXES
        for security in ("ssl", "starttls")
    }


@contextlib.contextmanager
def guessing(servers, answering, silent=()):
    """example.test, found only by guessing. The names in ``answering`` (prefixes such as "mail.")
    resolve to the harness Dovecot, every other guessed name to 127.0.0.2, where each guessed port
    accepts and never speaks; so do the guessed ports in ``silent`` ((protocol, security) pairs) on
    every name. Yields the discovery options."""
    guess_ports = harness_guess_ports(servers)
    prefixes = {prefix for names in PREFIXES.values() for prefix in names}
    zone = {
        (f"{prefix}example.test", "A"): ["127.0.0.1" if prefix in answering else "127.0.0.2"] for prefix in prefixes
    }
    with contextlib.ExitStack() as stack:
        if silent:
            hole = stack.enter_context(Blackhole("127.0.0.1"))
            stack.enter_context(Blackhole("127.0.0.2", hole.port))
            guess_ports.update(dict.fromkeys(silent, hole.port))
        for port in sorted(set(guess_ports.values()) - {guess_ports[key] for key in silent}):
            stack.enter_context(Blackhole("127.0.0.2", port))
        dns = stack.enter_context(DnsServer(zone))
        yield options(dns, use_guess=True, guess_ports=guess_ports, cafile=servers["ca_file"])


def silent_probes(answering, silent=()):
    """How many guessing probes get no answer in ``guessing(servers, answering, silent)``."""
    return sum(
        host.removesuffix("example.test") not in answering or (protocol, security) in silent
        for protocol, host, security in candidates("example.test")
    )


def harness_ports():
    """The harness's Dovecot ports, which found servers may use in these tests."""
    path = os.environ.get("EMAIL_ACCOUNT_TEST_SERVERS")
    if not path:
        return frozenset()
    with open(path, encoding="utf-8") as handle:
        servers = json.load(handle)
    return frozenset(port for ports in servers["dovecot"].values() for port in ports.values() if isinstance(port, int))


def srv_zone(servers, domain, instance="main", target="localhost."):
    ports = servers["dovecot"][instance]
    return {
        (f"_imaps._tcp.{domain}", "SRV"): [f"0 1 {ports['imaps']} {target}"],
        (f"_submission._tcp.{domain}", "SRV"): [f"0 1 {ports['submission']} {target}"],
    }


def document(servers, instance="main", host="localhost", incoming="imaps", smtp="submission", extra=""):
    ports = servers["dovecot"][instance]
    socket_types = {
        "imaps": "SSL",
        "imap": "STARTTLS",
        "pop3s": "SSL",
        "pop3": "STARTTLS",
        "submissions": "SSL",
        "submission": "STARTTLS",
    }
    kind = "pop3" if incoming.startswith("pop3") else "imap"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <displayName>Example</displayName>
    <incomingServer type="{kind}">
      <hostname>{host}</hostname><port>{ports[incoming]}</port><socketType>{socket_types[incoming]}</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>{host}</hostname><port>{ports[smtp]}</port><socketType>{socket_types[smtp]}</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </outgoingServer>{extra}
  </emailProvider>
</clientConfig>
""".encode()


def xml_route(body, status=200):
    return (status, {"Content-Type": "application/xml"}, body)


POX_PATH = "/autodiscover/autodiscover.xml"


def pox(servers=None, instance="main", host="localhost", action="settings", target=""):
    """An Exchange Autodiscover (POX) answer: IMAPS and submission of the harness Dovecot, or a
    redirect (``action`` "redirectUrl" / "redirectAddr" to ``target``)."""
    if action == "settings":
        ports = servers["dovecot"][instance]
        account = f"""<Action>settings</Action>
      <Protocol><Type>EXCH</Type><Server>exchange.example.test</Server></Protocol>
      <Protocol><Type>IMAP</Type><Server>{host}</Server><Port>{ports["imaps"]}</Port><SSL>on</SSL>
        <Encryption>SSL</Encryption><LoginName>alice@example.test</LoginName></Protocol>
      <Protocol><Type>SMTP</Type><Server>{host}</Server><Port>{ports["submission"]}</Port><SSL>on</SSL>
        <Encryption>TLS</Encryption></Protocol>"""
    else:
        tag = "RedirectUrl" if action == "redirectUrl" else "RedirectAddr"
        account = f"<Action>{action}</Action><{tag}>{target}</{tag}>"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account><AccountType>email</AccountType>{account}</Account>
  </Response>
</Autodiscover>""".encode()
