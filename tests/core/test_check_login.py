"""Every protocol x security mode x mechanism that should work, works against real Dovecot."""

import pytest

from accounts import settings_for
from mailcore import check_server

MECHANISMS = {
    "smtp": ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"],
    "imap": ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN", "LOGIN-COMMAND"],
    "pop3": ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "APOP", "PLAIN", "LOGIN", "USER"],
}
CASES = [
    (protocol, security, mechanism)
    for protocol, mechanisms in MECHANISMS.items()
    for security in ("ssl", "starttls", "none")
    for mechanism in mechanisms
]


@pytest.mark.parametrize(("protocol", "security", "mechanism"), CASES)
def test_mechanism_logs_in(servers, protocol, security, mechanism):
    result = check_server(settings_for(servers, protocol, security, auth_mechanism=mechanism))
    assert result.ok, result.message
    assert result.stage == "done"
    assert result.facts["login_method"] == mechanism


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_strongest_mechanism_is_chosen(servers, protocol):
    result = check_server(settings_for(servers, protocol, "ssl"))
    assert result.ok, result.message
    assert result.facts["login_method"] == "SCRAM-SHA-256"


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_login_differing_from_address(servers, protocol):
    result = check_server(settings_for(servers, protocol, "starttls", user="bob"))
    assert result.ok, result.message


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_safe_logon_uses_a_safe_mechanism(servers, protocol):
    result = check_server(settings_for(servers, protocol, "starttls", safe_logon=True))
    assert result.ok, result.message
    assert result.facts["login_method"] in {"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "APOP"}


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_safe_logon_refuses_a_server_offering_only_plain(servers, protocol):
    result = check_server(settings_for(servers, protocol, "ssl", instance="plainonly", safe_logon=True))
    assert not result.ok
    assert result.code == "auth_mechanism_unavailable"
    assert result.stage == "auth"
    assert "PLAIN" in result.params["offered"]
    assert "PLAIN" in result.message


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_safe_logon_off_accepts_plain_even_unencrypted(servers, protocol):
    result = check_server(settings_for(servers, protocol, "none", instance="plainonly"))
    assert result.ok, result.message
    assert result.facts["login_method"] == "PLAIN"


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_forced_plain_mechanism_with_safe_logon_is_refused(servers, protocol):
    result = check_server(settings_for(servers, protocol, "ssl", safe_logon=True, auth_mechanism="PLAIN"))
    assert result.code == "auth_mechanism_unavailable"


@pytest.mark.parametrize(("protocol", "mechanism"), [("smtp", "PLAIN"), ("imap", "CRAM-MD5"), ("pop3", "USER")])
def test_wrong_password(servers, protocol, mechanism):
    settings = settings_for(servers, protocol, "ssl", password="not-the-password", auth_mechanism=mechanism)
    result = check_server(settings)
    assert not result.ok
    assert (result.code, result.stage) == ("auth_failed", "auth")
    assert "app password" in result.message
    assert "not-the-password" not in repr(result.to_dict())


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_offered_mechanism_the_core_does_not_speak(servers, protocol):
    """Dovecot offers DIGEST-MD5, which the core does not implement: forcing it must not crash the check."""
    result = check_server(settings_for(servers, protocol, "ssl", auth_mechanism="DIGEST-MD5"))
    assert (result.code, result.stage) == ("auth_mechanism_unavailable", "auth")
    assert "DIGEST-MD5" in result.params["offered"]
    assert check_server(settings_for(servers, protocol, "ssl")).facts["login_method"] == "SCRAM-SHA-256"


def test_pop3_refusal_is_the_server_text(servers):
    result = check_server(settings_for(servers, "pop3", "ssl", password="not-the-password", auth_mechanism="USER"))
    assert result.params["reason"].startswith("-ERR [AUTH] "), result.params["reason"]
