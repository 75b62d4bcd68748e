"""POP3: open (greeting, CAPA, STLS), log in (SASL, APOP or USER/PASS), and STAT the mailbox."""

import base64
import poplib

from . import sasl
from .probe import ProbeClient

# RFC 2449 3: a command line, CRLF included, is at most 255 octets.
MAX_COMMAND = 255


class _POP3(ProbeClient, poplib.POP3):
    def __init__(self, probe):
        super().__init__(probe)  # reads the greeting, one line poplib bounds itself
        self.file = probe.bound(self.file)


def _text(value):
    if isinstance(value, poplib.error_proto) and value.args:
        value = value.args[0]  # the server's line, not the exception's repr of it
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:200]


def _failure(probe, error, default):
    """Map a POP3 '-ERR' (with RFC 2449/3206 response codes) to a documented failure."""
    reason = _text(error)
    if reason == "-ERR EOF":
        return probe.fail("connection_closed")
    if reason == "line too long":  # poplib's own words for a line beyond its limit
        return probe.fail("protocol_error", reason=reason)
    if "[IN-USE]" in reason:
        return probe.fail("mailbox_unavailable", reason=reason)
    if "[LOGIN-DELAY]" in reason:
        return probe.fail("login_delay", reason=reason)
    if "[SYS/TEMP]" in reason:
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
        client.file = probe.reader(client.sock)
        client._tls_established = True
        capa = _capabilities(client, probe)
    elif "STLS" in capa:
        probe.facts["starttls_offered"] = True
    client.capabilities = capa
    return client


def login(client, probe):
    """Log in with the best method; a refused APOP falls back to the next one when that is allowed."""
    settings = probe.settings
    probe.enter("auth")
    advertised = list(probe.facts["auth_mechanisms"])
    if "USER" in client.capabilities or not client.capabilities:
        advertised.append("USER")
    names = _login_order(client, advertised, settings)
    if not names:
        raise sasl.unavailable(advertised + _apop_offered(client), probe)
    for index, name in enumerate(names):
        probe.facts["login_method"] = name
        mechanism = sasl.Mechanism(name, settings.login, settings.password.reveal())
        try:
            _login_with(client, mechanism)
            return
        except poplib.error_proto as error:
            failure = _failure(probe, error, "auth_failed")
        if failure.code == "auth_failed":
            failure = sasl.refused(probe, mechanism, failure.params["reason"])
        apop_refused = name == "APOP" and failure.code == "auth_failed"
        if apop_refused and index + 1 < len(names):
            continue  # a greeting's timestamp promises no APOP secret for this login: try the next method
        if apop_refused and settings.safe_logon and advertised:
            # APOP was all Safe logon allowed; the server's other methods would send the password itself.
            raise probe.fail("apop_refused", reason=failure.params["reason"], offered=", ".join(advertised))
        raise failure


def _apop_offered(client):
    # APOP is no CAPA capability: a timestamp in the greeting only says the server may know APOP.
    return ["APOP"] if client.timestamp.match(client.welcome) else []


def _login_order(client, advertised, settings):
    """The methods to try, best first. APOP keeps its rank on an unencrypted connection, where it is
    what keeps the password off the wire; over TLS what CAPA advertises comes first, because servers
    such as GNU Mailutils put a timestamp in every greeting without keeping APOP secrets."""
    names = sasl.ranked(advertised + _apop_offered(client), settings)
    if settings.security != "none" and client.capabilities:
        names.sort(key=lambda name: name == "APOP")
    return names


def _login_with(client, mechanism):
    login, password = mechanism.login.decode("utf-8"), mechanism.password.decode("utf-8")
    if mechanism.name == "APOP":
        client.apop(login, password)
    elif mechanism.name == "USER":
        client.user(login)
        client.pass_(password)
    else:
        _authenticate(client, mechanism)


def _authenticate(client, mechanism):
    """RFC 5034 AUTH: poplib has no SASL, so speak it over poplib's own line primitives. The first
    message goes on the command line unless that would pass the 255 octets of a POP3 command (RFC 2449;
    an access token alone is often longer): then it answers the server's first, empty challenge."""
    initial = mechanism.initial()
    command = f"AUTH {mechanism.name}"
    pending = []
    if initial is not None:
        encoded = base64.b64encode(initial).decode() or "="
        if len(command) + 1 + len(encoded) + 2 <= MAX_COMMAND:
            command += " " + encoded
        else:
            pending.append(initial)
    client._putcmd(command)
    while True:
        line, _octets = client._getline()
        if line.startswith(b"+OK"):
            return
        if not line.startswith(b"+"):
            raise poplib.error_proto(line)
        challenge = sasl.decode(line[1:].strip())
        answer = pending.pop() if pending else mechanism.respond(challenge)
        client._putcmd(base64.b64encode(answer).decode())


def check(client, probe):
    probe.enter("mailbox")
    try:
        count, size = client.stat()
    except poplib.error_proto as error:
        raise _failure(probe, error, "mailbox_unavailable") from None
    probe.facts["messages"], probe.facts["mailbox_size"] = count, size
    client.quit()
