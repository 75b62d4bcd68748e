"""Certificate policies and wrong-mode mistakes, against real Dovecot listeners."""

import pytest

from accounts import settings_for
from mailcore import check_server

PROTOCOLS = ["smtp", "imap", "pop3"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_expired_certificate(servers, protocol, security):
    result = check_server(settings_for(servers, protocol, security, instance="expired"))
    assert (result.code, result.stage) == ("certificate_expired", "tls")
    assert result.params["not_after"] in result.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_certificate_for_another_host(servers, protocol):
    result = check_server(settings_for(servers, protocol, "ssl", instance="wronghost"))
    assert result.code == "certificate_hostname_mismatch"
    assert "wrong.example.test" in result.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_self_signed_certificate_is_untrusted_and_described(servers, protocol, security):
    result = check_server(settings_for(servers, protocol, security, instance="selfsigned"))
    assert (result.code, result.stage) == ("certificate_untrusted", "tls")
    certificate = result.facts["certificate"]
    assert certificate["subject"] == certificate["issuer"] == "localhost"
    assert certificate["sha256"] in result.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pinned_fingerprint_is_accepted(servers, protocol):
    untrusted = check_server(settings_for(servers, protocol, "ssl", instance="selfsigned"))
    fingerprint = untrusted.facts["certificate"]["sha256"]
    pinned = settings_for(
        servers, protocol, "ssl", instance="selfsigned", tls_policy="pin", pinned_fingerprint=fingerprint.upper()
    )
    result = check_server(pinned)
    assert result.ok, result.message
    assert result.facts["certificate"]["sha256"] == fingerprint


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pin_of_another_certificate_is_refused(servers, protocol):
    good = check_server(settings_for(servers, protocol, "ssl"))
    pinned = settings_for(
        servers,
        protocol,
        "ssl",
        instance="selfsigned",
        tls_policy="pin",
        pinned_fingerprint=good.facts["certificate"]["sha256"],
    )
    result = check_server(pinned)
    assert result.code == "certificate_pin_mismatch"
    assert result.params["fingerprint"] != good.facts["certificate"]["sha256"]


def test_accept_any_certificate_is_explicit_and_recorded(servers):
    result = check_server(settings_for(servers, "imap", "ssl", instance="expired", tls_policy="any"))
    assert result.ok, result.message
    assert result.facts["certificate_checked"] is False


def test_system_trust_store_does_not_know_the_test_ca(servers):
    result = check_server(settings_for(servers, "imap", "ssl", cafile=""))
    assert result.code == "certificate_untrusted"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_ssl_spoken_to_a_plain_port(servers, protocol):
    settings = settings_for(servers, protocol, "ssl", port_key={"smtp": "submission"}.get(protocol, protocol))
    result = check_server(settings)
    assert (result.code, result.stage) == ("tls_on_plain_port", "tls")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("security", ["starttls", "none"])
def test_plain_spoken_to_a_tls_port(servers, protocol, security):
    port_key = {"smtp": "submissions", "imap": "imaps", "pop3": "pop3s"}[protocol]
    result = check_server(settings_for(servers, protocol, security, port_key=port_key), timeout=8)
    assert result.code == "plain_on_tls_port"
    assert result.stage == "greeting"
    assert sum(result.timings.values()) < 4
