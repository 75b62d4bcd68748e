"""POP3: open (greeting, CAPA, STLS), log in (SASL, APOP or USER/PASS), and STAT the mailbox."""

import base64
import poplib

from . import sasl
from .probe import ProbeClient


class _POP3(ProbeClient, poplib.POP3):
    pass


def _text(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:200]


def _failure(probe, error, default):
    """Map a POP3 '-ERR' (with RFC 2449/3206 response codes) to a documented failure."""
    reason = _text(error)
    if reason == "-ERR EOF":
        return probe.fail("connection_closed")
    if "[IN-USE]" in reason:
        return probe.fail("mailbox_unavailable", reason=reason)
    if "[SYS/TEMP]" in reason or "[LOGIN-DELAY]" in reason:
        return probe.fail("server_busy", reason=reason)
    return probe.fail(default, reason=reason)


def _capabilities(client, probe):
    probe.enter("capabilities")
    try:
        capa = client.capa()
    except poplib.error_proto as error:
        if _text(error) == "-ERR EOF":
            raise _failure(probe, error, "connection_closed") from None
        capa = {}
    probe.facts["capabilities"] = sorted(capa)
    probe.facts["auth_mechanisms"] = [name.upper() for name in capa.get("SASL", [])]
    return capa


def open_connection(probe):
    """Connected, greeted, CAPA read and (when asked) upgraded with STLS; not logged in."""
    try:
        client = _POP3(probe)
    except poplib.error_proto as error:
        busy = _text(error).startswith("-ERR")
        raise _failure(probe, error, "server_busy" if busy else "protocol_error") from None
    probe.greeted()
    probe.facts["banner"] = _text(client.welcome)
    capa = _capabilities(client, probe)
    if probe.settings.security == "starttls":
        if "STLS" not in capa:
            raise probe.fail("starttls_unsupported", reason="not in the CAPA reply")
        try:
            client._shortcmd("STLS")
        except poplib.error_proto as error:
            raise probe.fail("starttls_unsupported", reason=_text(error)) from None
        client.sock = probe.start_tls(client.sock)
        client.file = client.sock.makefile("rb")
        client._tls_established = True
        capa = _capabilities(client, probe)
    elif "STLS" in capa:
        probe.facts["starttls_offered"] = True
    client.capabilities = capa
    return client


def login(client, probe):
    settings = probe.settings
    probe.enter("auth")
    offered = list(probe.facts["auth_mechanisms"])
    if client.timestamp.match(client.welcome):
        offered.append("APOP")
    if "USER" in client.capabilities or not client.capabilities:
        offered.append("USER")
    name = sasl.choose(offered, probe)
    password = settings.password.reveal()
    try:
        if name == "APOP":
            client.apop(settings.login, password)
        elif name == "USER":
            client.user(settings.login)
            client.pass_(password)
        else:
            _authenticate(client, sasl.Mechanism(name, settings.login, password))
    except poplib.error_proto as error:
        raise _failure(probe, error, "auth_failed") from None


def _authenticate(client, mechanism):
    """RFC 5034 AUTH: poplib has no SASL, so speak it over poplib's own line primitives."""
    initial = mechanism.initial()
    command = f"AUTH {mechanism.name}"
    if initial is not None:
        command += " " + (base64.b64encode(initial).decode() or "=")
    client._putcmd(command)
    while True:
        line, _octets = client._getline()
        if line.startswith(b"+OK"):
            return
        if not line.startswith(b"+"):
            raise poplib.error_proto(line)
        answer = mechanism.respond(base64.b64decode(line[1:].strip()))
        client._putcmd(base64.b64encode(answer).decode())



def check(client, probe):
    probe.enter("mailbox")
    try:
        count, size = client.stat()
    except poplib.error_proto as error:
        raise _failure(probe, error, "mailbox_unavailable") from None
    probe.facts["messages"], probe.facts["mailbox_size"] = count, size
    client.quit()
