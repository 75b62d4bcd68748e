"""What users type: addresses, host names and ports, accepted in wire form or refused with a stable code."""

import pathlib
import re

import pytest

from mailcore import (
    InvalidValue,
    ServerSettings,
    check_length,
    check_line,
    check_port,
    check_timeout,
    validation,
    wire_email,
    wire_host,
)


@pytest.mark.parametrize(
    ("typed", "wire"),
    [
        ("alice@example.test", "alice@example.test"),
        ("Alice.Smith+sales@Example.TEST", "Alice.Smith+sales@example.test"),
        ("info@bücher.example", "info@xn--bcher-kva.example"),
        ("user@пример.рф", "user@xn--e1afmkfd.xn--p1ai"),
        ('"john doe"@example.test', '"john doe"@example.test'),
        ('"a@b"@example.test', '"a@b"@example.test'),
        ("postmaster@[192.0.2.1]", "postmaster@[192.0.2.1]"),
        ("postmaster@[IPv6:2001:db8::1]", "postmaster@[IPv6:2001:db8::1]"),
    ],
)
def test_addresses_accepted_in_wire_form(typed, wire):
    assert wire_email(typed) == wire


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "empty"),
        ("alice", "no_at"),
        ("alice@@example.test", "many_at"),
        ("alice@bob@example.test", "many_at"),
        ("al ice@example.test", "whitespace"),
        ("alice@example.test ", "whitespace"),
        ("alice@example.test\r\nRCPT TO:<x@y>", "control_character"),
        ("@example.test", "local_part_empty"),
        ("alice@", "domain_empty"),
        ("a..b@example.test", "local_part_invalid"),
        (".alice@example.test", "local_part_invalid"),
        ("al(ice@example.test", "local_part_invalid"),
        ('"unterminated@example.test', "local_part_invalid"),
        ('"john"x@example.test', "local_part_invalid"),
        ("x" * 65 + "@example.test", "local_part_too_long"),
        ("alice@-example.test", "domain_invalid"),
        ("alice@exa_mple.test", "domain_invalid"),
        ("alice@example..test", "domain_invalid"),
        ("alice@" + "a" * 64 + ".test", "label_too_long"),
        ("alice@" + ".".join(["abcdefghi"] * 26), "domain_too_long"),
        ("alice@[999.1.1.1]", "ipv4_invalid"),
        ("alice@[IPv6:zz::1]", "ipv6_invalid"),
    ],
)
def test_bad_addresses_refused(typed, code):
    with pytest.raises(InvalidValue) as caught:
        wire_email(typed)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("typed", "wire"),
    [
        ("mail.example.test", "mail.example.test"),
        ("Mail.Example.TEST.", "mail.example.test"),
        ("smtp.bücher.example", "smtp.xn--bcher-kva.example"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("[2001:DB8::1]", "2001:db8::1"),
    ],
)
def test_hosts_accepted_in_wire_form(typed, wire):
    assert wire_host(typed) == wire


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "empty"),
        ("mail example.test", "whitespace"),
        (" mail.example.test", "whitespace"),
        ("mail.example.test\r\n", "control_character"),
        ("smtp://mail.example.test", "scheme"),
        ("imaps://mail.example.test:993", "scheme"),
        ("mail.example.test/inbox", "path"),
        ("alice@mail.example.test", "path"),
        ("mail.example.test:587", "port_in_host"),
        ("[::1]:25", "port_in_host"),
        ("::1", "ipv6_unbracketed"),
        ("[::g]", "ipv6_invalid"),
        ("[127.0.0.1]", "ipv6_invalid"),
        ("256.1.1.1", "ipv4_invalid"),
        ("1.2.3", "ipv4_invalid"),
        ("-mail.example.test", "domain_invalid"),
        ("mail_server.example.test", "domain_invalid"),
        ("a" * 64 + ".example.test", "label_too_long"),
    ],
)
def test_bad_hosts_refused(typed, code):
    with pytest.raises(InvalidValue) as caught:
        wire_host(typed)
    assert caught.value.code == code


def test_ports():
    assert check_port(1) == 1
    assert check_port(65535) == 65535
    for port in (0, -1, 65536, 10**6, "25", None):
        with pytest.raises(InvalidValue) as caught:
            check_port(port)
        assert caught.value.code == "port_range"


def test_timeouts():
    assert check_timeout(1) == 1
    assert check_timeout(300) == 300
    for seconds in (0, -1, 301, "30", None):
        with pytest.raises(InvalidValue) as caught:
            check_timeout(seconds)
        assert caught.value.code == "timeout_range"
        assert caught.value.describe() == f"must be between 1 and 300 seconds, not {seconds}."


def test_every_code_has_its_message():
    """Each code a rule raises has its sentence here, so the addon never meets a code it cannot show."""
    source = pathlib.Path(validation.__file__).read_text(encoding="utf-8")
    raised = set(re.findall(r'InvalidValue\((?:f?)"(\w+)"', source)) | {"ipv4_invalid", "ipv6_invalid"}
    assert raised == set(validation.MESSAGES)


def test_messages_render_in_the_callers_language():
    """The template is translated first, then filled: a gettext sees the msgid, never the filled text."""
    seen = []

    def gettext(text):
        seen.append(text)
        return text.replace("the port must be", "der Port muss")

    assert InvalidValue("port_range", port=0).describe(gettext) == "der Port muss between 1 and 65535, not 0."
    assert seen == ["the port must be between 1 and 65535, not %(port)s."]


def test_lines_and_lengths():
    assert check_line("app-pässword ✓") == "app-pässword ✓"
    for value in ("pw\r", "pw\n", "p\x00w", "p\x7fw", "\tpw"):
        with pytest.raises(InvalidValue):
            check_line(value)
    assert check_length("x" * 10, 10)
    with pytest.raises(InvalidValue) as caught:
        check_length("x" * 11, 10)
    assert caught.value.params == {"maximum": 10, "length": 11}


def test_wire_values_pass_the_protocol_guard():
    """What validation lets through is what ServerSettings accepts: the two lines of defence agree."""
    settings = ServerSettings(
        "smtp", wire_host("smtp.bücher.example"), 587, "starttls", login=wire_email('"john doe"@bücher.example')
    )
    assert settings.host == "smtp.xn--bcher-kva.example"
    assert settings.login == '"john doe"@xn--bcher-kva.example'
