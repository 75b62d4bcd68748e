"""The bundled provider data: every ISPDB provider usable, OAuth-only ones marked, answered without any network.

(How the file is built from the ISPDB snapshot is tested in test_providers_data.py.)"""

import pytest

from mailcore.discovery import DiscoveryOptions, config, discover, providers
from mailcore.discovery.autoconfig import configuration_from

# Nameservers that would never answer: a provider hit must not need them.
NO_NETWORK = DiscoveryOptions(nameservers=("127.0.0.1",), dns_port=9, ispdb_url="", use_guess=False)


def test_every_provider_gives_servers_for_an_address_of_its_domains():
    entries = providers.providers()
    assert len(entries) >= 160  # the whole ISPDB snapshot, not a hand-picked few
    for provider in entries:
        domain = provider.findtext("domain")
        assert config.valid_hostname(domain), domain
        configuration = configuration_from(provider, f"someone@{domain}", "provider", domain)
        assert configuration.incoming or configuration.outgoing, provider.get("id")
        app_password = provider.find("appPassword")
        if app_password is not None and app_password.get("required") == "true":
            assert configuration.app_password_url.startswith("https://"), provider.get("id")


def test_oauth_only_entries_are_kept_and_marked_for_the_sign_in():
    """Microsoft takes no password for IMAP/POP3: its entries stay, with servers, for the sign-in path."""
    for domain, provider in (("outlook.com", "Outlook.com (Microsoft)"), ("office365.com", "Microsoft 365")):
        configuration = providers.lookup(f"x@{domain}", domain)
        assert configuration.oauth_only and configuration.sign_in == "microsoft"
        assert configuration.provider == provider and configuration.incoming[0].host == "outlook.office365.com"
    gmail = providers.lookup("x@gmail.com", "gmail.com")
    assert not gmail.oauth_only and gmail.sign_in == "google" and gmail.app_password_required


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
    assert result.configuration.describe() == "from Thunderbird's provider database"
    assert (result.incoming.host, result.incoming.port, result.incoming.security) == ("imap.mail.me.com", 993, "ssl")
    assert result.incoming.login == "Jane.Doe"  # %EMAILLOCALPART%
    assert result.outgoing.login == "Jane.Doe@icloud.com"  # %EMAILADDRESS%
    assert result.configuration.app_password_required
    assert result.configuration.app_password_url.startswith("https://")
    assert result.elapsed < 1  # no look-up was waited for: the DNS port above answers nothing


def test_provider_alternatives_are_ranked_imap_and_implicit_tls_first():
    configuration = providers.lookup("x@online.de", "online.de")
    assert [(s.protocol, s.security) for s in configuration.incoming] == [
        ("imap", "ssl"),
        ("imap", "starttls"),
        ("pop3", "ssl"),
        ("pop3", "starttls"),
    ]
    assert [(s.port, s.security) for s in configuration.outgoing] == [(465, "ssl"), (587, "starttls")]
