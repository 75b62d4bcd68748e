"""The bundled provider data: well-formed, complete, unambiguous, and answered without any network."""

import pytest

from mailcore.discovery import DiscoveryOptions, config, discover, providers

# Nameservers that would never answer: a provider hit must not need them.
NO_NETWORK = DiscoveryOptions(nameservers=("127.0.0.1",), dns_port=9, ispdb_url="", use_guess=False)


def test_at_least_forty_providers_each_with_valid_servers():
    entries = providers.providers()
    assert len(entries) >= 40
    for provider in entries:
        name = provider.get("id")
        assert provider.findtext("displayName"), name
        types = [server.get("type") for server in provider.iter("incomingServer", "outgoingServer")]
        assert "smtp" in types and ({"imap", "pop3"} & set(types)), name
        for server in provider.iter("incomingServer", "outgoingServer"):
            assert server.findtext("socketType") in ("SSL", "STARTTLS", "plain"), name
            assert config.valid_port(int(server.findtext("port"))), name
            assert config.valid_hostname(server.findtext("hostname")), name
            assert server.findtext("username") in ("%EMAILADDRESS%", "%EMAILLOCALPART%"), name
        app_password = provider.find("appPassword")
        assert app_password is not None and app_password.get("required") in ("true", "false"), name
        if app_password.get("required") == "true":
            assert app_password.get("url", "").startswith("https://"), name


def test_alias_domains_are_unique_and_valid():
    seen = {}
    for provider in providers.providers():
        for domain in provider.iterfind("domain"):
            assert config.valid_hostname(domain.text), domain.text
            assert domain.text not in seen, f"{domain.text} in {seen.get(domain.text)} and {provider.get('id')}"
            seen[domain.text] = provider.get("id")


@pytest.mark.parametrize(
    "domain",
    [
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "yahoo.com",
        "icloud.com",
        "aol.com",
        "zoho.com",
        "fastmail.com",
        "gmx.net",
        "mail.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "proton.me",
        "t-online.de",
        "web.de",
        "orange.fr",
        "free.fr",
        "libero.it",
        "virgilio.it",
        "rambler.ru",
        "seznam.cz",
        "interia.pl",
        "o2.pl",
        "comcast.net",
        "att.net",
        "verizon.net",
    ],
)
def test_the_named_providers_are_there(domain):
    assert providers.lookup(f"someone@{domain}", domain) is not None


def test_a_provider_hit_needs_no_network_and_substitutes_the_address():
    result = discover("Jane.Doe@icloud.com", options=NO_NETWORK)
    assert result.ok and result.configuration.source == "provider"
    assert result.configuration.describe() == "from the bundled provider data for icloud.com"
    assert (result.incoming.host, result.incoming.port, result.incoming.security) == ("imap.mail.me.com", 993, "ssl")
    assert result.incoming.login == "Jane.Doe"  # %EMAILLOCALPART%
    assert result.outgoing.login == "Jane.Doe@icloud.com"  # %EMAILADDRESS%
    assert result.configuration.app_password_required
    assert result.configuration.app_password_url.startswith("https://")
    assert result.elapsed < 1  # no look-up was waited for: the DNS port above answers nothing


def test_provider_alternatives_are_ranked_imap_and_implicit_tls_first():
    configuration = providers.lookup("x@gmail.com", "gmail.com")
    assert [(s.protocol, s.security) for s in configuration.incoming] == [("imap", "ssl"), ("pop3", "ssl")]
    assert [(s.port, s.security) for s in configuration.outgoing] == [(465, "ssl"), (587, "starttls")]
