"""Autoconfig documents come from strangers: each hostile one is rejected cleanly, with a reason."""

import socket

import pytest

from discoveryenv import ALICE, document, options, xml_route
from dnsserver import DnsServer
from faultservers import ScriptedServer, dialogue
from httpsserver import HttpsServer
from mailcore.discovery import autoconfig, discover

PATH = "/mail/config-v1.1.xml"
HOST = "autoconfig.example.test"

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<clientConfig version="1.1"><emailProvider id="x"><displayName>&secret;</displayName>
<incomingServer type="imap"><hostname>localhost</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
<outgoingServer type="smtp"><hostname>localhost</hostname><port>465</port><socketType>SSL</socketType></outgoingServer>
</emailProvider></clientConfig>"""

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b']>\n<clientConfig version="1.1"><emailProvider id="x">'
    + b"<displayName>&lol9;</displayName></emailProvider></clientConfig>"
)


def _server_doc(host="localhost", port="993", socket_type="SSL"):
    return f"""<clientConfig version="1.1"><emailProvider id="x">
<incomingServer type="imap"><hostname>{host}</hostname><port>{port}</port><socketType>{socket_type}</socketType>
<username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication></incomingServer>
<outgoingServer type="smtp"><hostname>{host}</hostname><port>{port}</port><socketType>{socket_type}</socketType>
<username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication></outgoingServer>
</emailProvider></clientConfig>""".encode()


def _served(servers, routes, secure=True, **changes):
    with (
        DnsServer(wildcard_a=("example.test",)) as dns,
        HttpsServer(servers, [HOST, "example.test"], routes, secure) as web,
    ):
        result = discover(
            ALICE, options=options(dns, web, use_mx=False, use_srv=False, cafile=servers["ca_file"], **changes)
        )
    return result, web


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (XXE, "declares a DTD or entities"),
        (LAUGHS, "declares a DTD or entities"),
        (b"<clientConfig><emailProvider>" + b"x" * (100 * 1024), "larger than 100 KB"),
        (b"<clientConfig><emailProvider></clientConfig>", "not well-formed XML"),
        (b"<html><body>Hello</body></html>", "not a mail client configuration"),
        (_server_doc(host="evil host/x"), "invalid host name 'evil host/x'"),
        (_server_doc(host="%EMAILADDRESS%"), "invalid host name 'alice@example.test'"),
        (_server_doc(port="99999"), "invalid port 99999"),
        (_server_doc(port="-1"), "invalid port '-1'"),
        (_server_doc(socket_type="SSLv2"), "unknown socketType 'sslv2'"),
    ],
)
def test_hostile_documents_are_rejected_with_a_reason(servers, body, reason):
    result, _web = _served(servers, {(HOST, PATH): xml_route(body)})
    assert not result.ok and result.configuration is None
    assert reason in result.reason()


def test_servers_on_ports_that_are_not_mail_ports_are_ignored(servers):
    """A document (or SRV record) may not send discovery to probe a database or SSH port."""
    result, _web = _served(servers, {(HOST, PATH): xml_route(_server_doc(port="6379"))}, extra_ports=frozenset())
    assert not result.ok and result.configuration is None
    assert "ignored localhost:6379, localhost:6379, not on a mail port" in result.reason()


def test_the_parser_itself_never_reads_the_entity():
    """Even before our DTD refusal, lxml is configured not to resolve entities or use the network."""
    _etree, parser = autoconfig._parser()
    assert parser.resolvers is not None  # a real lxml parser
    with pytest.raises(autoconfig.DocumentError, match="DTD"):
        autoconfig.parse_tree(XXE)
    with pytest.raises(autoconfig.DocumentError, match="DTD"):
        autoconfig.parse_tree(XXE.replace(b"DOCTYPE", b"doctype"))


def test_placeholders_are_substituted(servers):
    configuration = autoconfig.parse(_server_doc(), "Bob.Smith@example.test", "autoconfig", "example.test")
    assert configuration.incoming[0].login == "Bob.Smith@example.test"
    assert configuration.outgoing[0].login == "Bob.Smith"


def test_redirects_are_followed_up_to_three_within_the_domain(servers):
    chain = {
        (HOST, PATH): (302, {"Location": "/r1"}, b""),
        (HOST, "/r1"): (301, {"Location": "https://example.test/r2"}, b""),
        ("example.test", "/r2"): (307, {"Location": f"https://{HOST}/r3"}, b""),
        (HOST, "/r3"): xml_route(document(servers)),
    }
    result, _web = _served(servers, chain)
    assert result.ok and result.configuration.source == "autoconfig"


def test_a_redirect_loop_stops_after_three(servers):
    loop = {(HOST, PATH): (302, {"Location": "/a"}), (HOST, "/a"): (302, {"Location": PATH})}
    loop = {key: (302, {"Location": value[1]["Location"]}, b"") for key, value in loop.items()}
    result, web = _served(servers, loop)
    assert not result.ok and "more than 3 redirects" in result.reason()
    assert len([request for request in web.requests if request[0] == HOST]) == 4


def test_a_redirect_to_another_domain_is_refused(servers):
    result, web = _served(servers, {(HOST, PATH): (302, {"Location": "https://attacker.test/x"}, b"")})
    assert "refused to go to attacker.test: not a host of the address's domain" in result.reason()
    assert all(host != "attacker.test" for host, _path in web.requests)


def test_plain_http_is_refused_unless_allowed(servers):
    routes = {(HOST, PATH): xml_route(document(servers))}
    refused, web = _served(servers, routes, secure=False)
    assert not refused.ok and not any(host == HOST for host, _path in web.requests if _path.startswith(PATH))
    redirected, _web = _served(servers, {(HOST, PATH): (302, {"Location": f"http://{HOST}/plain"}, b"")})
    assert "plain HTTP is not allowed" in redirected.reason()
    allowed, _web = _served(servers, routes, secure=False, allow_http=True)
    assert allowed.ok and allowed.configuration.detail.startswith("http://")


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_guessing_never_sends_the_password_unencrypted():
    """Implicit TLS filtered, STARTTLS not offered (or stripped on the way): the servers are found
    unencrypted, offered for the manual path, and never sent the password."""
    heard = []
    smtp = dialogue(
        b"220 smtp.example.test\r\n", {b"EHLO": b"250-smtp.example.test\r\n250 AUTH PLAIN\r\n"}, heard=heard
    )
    imap = dialogue(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n", {}, tagged=True, heard=heard)
    zone = {(f"{name}.example.test", "A"): ["127.0.0.1"] for name in ("imap", "smtp")}
    with ScriptedServer(smtp) as smtp_server, ScriptedServer(imap) as imap_server, DnsServer(zone) as dns:
        closed = _closed_port()
        ports = dict.fromkeys((("imap", "ssl"), ("pop3", "ssl"), ("pop3", "starttls"), ("smtp", "ssl")), closed)
        ports.update({("imap", "starttls"): imap_server.port, ("smtp", "starttls"): smtp_server.port})
        extra = frozenset({closed, imap_server.port, smtp_server.port})
        result = discover(
            ALICE, "secret", budget=6, options=options(dns, use_guess=True, guess_ports=ports, extra_ports=extra)
        )
    assert not result.ok
    assert (result.incoming.security, result.outgoing.security) == ("none", "none")
    assert result.check.outgoing.code == result.check.incoming.code == "starttls_unsupported"
    assert "password would be sent unencrypted" in result.reason()
    logins = (b"AUTH", b"LOGIN", b"AUTHENTICATE")
    assert not [line for line in heard if any(word.upper() in logins for word in line.split()[:2])]
