"""Exchange Autodiscover against a real DNS server and a real HTTPS server on loopback: POX found and
checked with the harness's Dovecot, the password only for the domain's own hosts after their 401,
hostile answers refused with a reason, and Microsoft 365 recognised by Autodiscover v2."""

import base64
import json
import time

import pytest

from discoveryenv import ALICE, POX_PATH, options, pox, xml_route
from dnsserver import DnsServer
from httpsserver import HttpsServer
from mailcore.discovery import discover

HOSTS = ["example.test", "autodiscover.example.test"]
BASIC = "Basic " + base64.b64encode(b"alice@example.test:%s").decode()


def _password(servers):
    return servers["users"]["alice"]["password"]


def _basic(servers):
    return "Basic " + base64.b64encode(f"{ALICE}:{_password(servers)}".encode()).decode()


def _discover(servers, routes, zone=None, names=(), email=ALICE, password=None, budget=10, **changes):
    with (
        DnsServer(zone or {}, wildcard_a=("example.test", "hoster.test", "evil.test")) as dns,
        HttpsServer(servers, [*HOSTS, *names, "evil.test"], routes) as web,
    ):
        values = {"use_mx": False, "use_srv": False, "use_autoconfig": False, "cafile": servers["ca_file"]}
        values.update(changes)
        started = time.monotonic()
        result = discover(email, password, budget=budget, options=options(dns, web, **values))
        result.seconds = time.monotonic() - started
    return result, web, dns


def test_pox_on_the_domain_is_found_and_checked(servers):
    result, web, _dns = _discover(
        servers, {("example.test", POX_PATH): xml_route(pox(servers))}, password=_password(servers)
    )
    assert result.ok, result.reason()
    assert result.configuration.source == "autodiscover"
    assert result.configuration.describe() == "from Exchange Autodiscover"
    assert (result.incoming.protocol, result.incoming.security) == ("imap", "ssl")
    assert (result.outgoing.port, result.outgoing.security) == (servers["dovecot"]["main"]["submission"], "starttls")
    assert b"<EMailAddress>alice@example.test</EMailAddress>" in web.bodies[0]
    assert web.authorizations == []  # nobody asked for the password: it was not sent


def test_the_autodiscover_host_gets_the_password_after_its_401(servers):
    expected = _basic(servers)

    def protected(headers):
        if headers.get("Authorization") != expected:
            return (401, {"WWW-Authenticate": 'Basic realm="autodiscover"'}, b"")
        return xml_route(pox(servers))

    routes = {("autodiscover.example.test", POX_PATH): protected}
    result, web, _dns = _discover(servers, routes, password=_password(servers))
    assert result.ok, result.reason()
    assert web.authorizations == [("autodiscover.example.test", expected)]
    wrong, _web, _dns = _discover(servers, routes, password="not the password")
    assert not wrong.ok and "autodiscover.example.test did not accept the address and password" in wrong.reason()


def test_an_srv_target_of_another_domain_never_gets_the_password(servers):
    """_autodiscover._tcp may name a host elsewhere: asked without credentials; its 401 is refused."""
    answering = {("mail.hoster.test", POX_PATH): xml_route(pox(servers))}
    asking = {("mail.hoster.test", POX_PATH): (401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")}
    for routes in (answering, asking):
        with HttpsServer(servers, ["mail.hoster.test"], routes) as hoster:
            zone = {("_autodiscover._tcp.example.test", "SRV"): [f"0 0 {hoster.port} mail.hoster.test."]}
            result, _web, _dns = _discover(servers, {}, zone, password=_password(servers))
        if routes is answering:
            assert result.ok and result.configuration.source == "autodiscover", result.reason()
        else:
            assert not result.ok and result.configuration is None
            assert "mail.hoster.test asks for the password; it is not sent there" in result.reason()
        assert hoster.authorizations == [] and hoster.requests


@pytest.mark.parametrize(
    ("route", "refusal"),
    [
        (xml_route(pox(action="redirectUrl", target="https://evil.test/autodiscover/autodiscover.xml")),
         "refused the redirect to https://evil.test/autodiscover/autodiscover.xml: not an HTTPS address of "
         "example.test"),
        (xml_route(pox(action="redirectAddr", target="alice@evil.test")),
         "refused the redirect to the address alice@evil.test: not in example.test"),
        ((302, {"Location": "https://evil.test/autodiscover/autodiscover.xml"}, b""),
         "refused to go to evil.test: not a host of the address's domain"),
        (xml_route(pox(action="redirectUrl", target="http://autodiscover.example.test/autodiscover/autodiscover.xml")),
         "not an HTTPS address of example.test"),
    ],
)  # fmt: skip
def test_redirects_to_another_domain_are_refused_and_never_followed(servers, route, refusal):
    result, web, _dns = _discover(servers, {("example.test", POX_PATH): route}, password=_password(servers))
    assert not result.ok and result.configuration is None
    assert refusal in result.reason()
    assert all(host != "evil.test" for host, _path in web.requests) and web.authorizations == []


def test_redirects_within_the_domain_are_followed_and_a_loop_stops_after_three(servers):
    here = "https://example.test/autodiscover/autodiscover.xml"
    there = "https://autodiscover.example.test/autodiscover/autodiscover.xml"
    followed = {
        ("example.test", POX_PATH): xml_route(pox(action="redirectAddr", target="alice.smith@example.test")),
        ("autodiscover.example.test", POX_PATH): (404, {}, b""),
    }
    result, web, _dns = _discover(servers, followed)
    assert not result.ok and len([r for r in web.requests if r[0] == "example.test"]) == 4  # same address 3 more times
    assert any(b"alice.smith@example.test" in body for body in web.bodies)
    loop = {
        ("example.test", POX_PATH): xml_route(pox(action="redirectUrl", target=there)),
        ("autodiscover.example.test", POX_PATH): xml_route(pox(action="redirectUrl", target=here)),
    }
    looped, web, _dns = _discover(servers, loop, password=_password(servers), budget=3)
    assert not looped.ok and "more than 3 redirects" in looped.reason()
    assert looped.seconds < 3 and len(web.requests) == 8  # two starts, each four requests, then done


def test_a_10_mb_answer_is_refused_with_or_without_its_length(servers):
    huge = b"<Autodiscover>" + b"x" * (10 * 1024 * 1024)
    routes = {
        ("example.test", POX_PATH): xml_route(huge),
        ("autodiscover.example.test", POX_PATH): (200, {"Content-Length": None}, huge),
    }
    result, _web, _dns = _discover(servers, routes, password=_password(servers), budget=3)
    assert not result.ok and result.seconds < 3
    assert "the answer of example.test is larger than 100 KB" in result.reason()
    assert "the answer of autodiscover.example.test is larger than 100 KB" in result.reason()


def test_entities_and_error_answers_are_refused(servers):
    dtd = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><Autodiscover>&x;</Autodiscover>'
    error = b"""<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
      <Response><Error><ErrorCode>600</ErrorCode><Message>Invalid Request</Message></Error></Response></Autodiscover>"""
    routes = {("example.test", POX_PATH): xml_route(dtd), ("autodiscover.example.test", POX_PATH): xml_route(error)}
    result, _web, _dns = _discover(servers, routes)
    assert "the document declares a DTD or entities, which are not accepted" in result.reason()
    assert "Autodiscover answered error 600" in result.reason()


def test_only_names_of_the_address_domain_are_asked_never_a_parent_or_the_tld(servers):
    """The 2021 leak: clients that fell back to autodiscover.<parent> or autodiscover.<TLD>."""
    result, web, dns = _discover(servers, {}, email="alice@sub.example.test", password="secret")
    assert not result.ok
    asked = {name for name, _kind in dns.queries} | {f"{host}." for host, _path in web.requests}
    assert "autodiscover.sub.example.test." in asked and "_autodiscover._tcp.sub.example.test." in asked
    assert not asked & {"autodiscover.example.test.", "autodiscover.test.", "example.test."}
    assert web.authorizations == []


def _v2(servers, body, **changes):
    path = f"/autodiscover/autodiscover.json/v1.0/{ALICE}"
    routes = {("m365.example.test", path): (200, {"Content-Type": "application/json"}, body)}
    with HttpsServer(servers, ["m365.example.test"], routes) as microsoft:
        url = f"https://m365.example.test:{microsoft.port}/autodiscover/autodiscover.json/v1.0/"
        result, _web, _dns = _discover(servers, {}, use_autodiscover=True, autodiscover_v2_url=url, **changes)
    return result, microsoft


def test_autodiscover_v2_recognises_a_microsoft_365_domain(servers):
    answer = {"Protocol": "AutodiscoverV1", "Url": "https://outlook.office365.com/autodiscover/autodiscover.xml"}
    result, microsoft = _v2(servers, json.dumps(answer).encode(), password=_password(servers))
    assert microsoft.requests == [
        ("m365.example.test", f"/autodiscover/autodiscover.json/v1.0/{ALICE}?Protocol=AutodiscoverV1")
    ]
    assert microsoft.authorizations == []
    configuration = result.configuration
    assert configuration.describe() == "from Exchange Autodiscover: Microsoft 365"
    assert configuration.oauth_only and configuration.sign_in == "microsoft"
    assert (result.incoming.host, result.incoming.login) == ("outlook.office365.com", ALICE)
    assert not result.ok and result.check is None  # no password check can pass: the sign-in path's
    assert "Microsoft 365 (found from Exchange Autodiscover: Microsoft 365) accepts no password" in result.reason()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (json.dumps({"Url": "https://autodiscover.example.test/autodiscover/autodiscover.xml"}).encode(),
         "example.test is not a Microsoft 365 domain"),
        (json.dumps({"Url": "http://outlook.office365.com/x"}).encode(), "example.test is not a Microsoft 365 domain"),
        (b"<html>not json</html>", "the answer is not JSON"),
        (b"[" * (200 * 1024), "the answer of m365.example.test is larger than 100 KB"),
    ],
)  # fmt: skip
def test_autodiscover_v2_answers_that_do_not_say_microsoft_365(servers, body, reason):
    result, _microsoft = _v2(servers, body)
    assert result.configuration is None and f"Microsoft 365 Autodiscover: {reason}" in result.reason()
