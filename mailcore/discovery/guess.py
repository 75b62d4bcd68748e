"""The last resort: probe the usual server names of the domain on the standard ports, all at once.

Each probe connects, reads the greeting and capabilities (through STARTTLS where offered) and stops
before any login, so no password is sent to a guessed host. Certificates are not judged here: the
check that follows does that, and shows the certificate when it is not trusted.
"""

import functools
import time

from ..check import PROTOCOLS
from ..sasl import SAFE
from ..settings import DEFAULT_PORTS
from ..text import Text, _lt
from .config import Configuration, make_server
from .dns import LookupTimeout
from .jobs import Outcome

# Host prefixes probed per protocol, in Thunderbird's order; "" is the bare domain.
PREFIXES = {"imap": ("imap.", "mail.", ""), "pop3": ("pop3.", "pop.", "mail.", ""), "smtp": ("smtp.", "mail.", "")}
SECURITIES = {"imap": ("ssl", "starttls"), "pop3": ("ssl", "starttls"), "smtp": ("ssl", "starttls")}
# Once each side has a server that answered, how long better-ranked probes still get to answer: a
# live mail server greets within a second or two, a firewalled name would hold the rest of the budget.
PATIENCE = 3.0


def candidates(domain):
    """Every (protocol, host, security) probed, best-ranked first."""
    return [
        (protocol, prefix + domain, security)
        for protocol, prefixes in PREFIXES.items()
        for prefix in prefixes
        for security in SECURITIES[protocol]
    ]


class Lookup:
    """Every candidate probed at once, as jobs of the discovery run. It ends as soon as each side's
    best answer can no longer be beaten by a candidate still pending, or ``PATIENCE`` seconds after
    each side had an answer (``wake_at``); then the probes still waiting on a silent host are aborted.
    """

    def __init__(self, email, domain, resolver, new_deadline, options, cafile=""):
        self.domain = domain
        self.attempts = candidates(domain)
        self.deadlines = [new_deadline() for _attempt in self.attempts]
        self.calls = [
            functools.partial(probe, attempt, email, resolver, probe_deadline, options, cafile)
            for attempt, probe_deadline in zip(self.attempts, self.deadlines, strict=True)
        ]
        self.pending = set(range(len(self.attempts)))
        self.answered = {}  # attempt index -> server
        self.wake_at = None  # set once both sides have an answer

    def collect(self, index, outcome):
        """The lookup's outcome once it is settled, else None."""
        self.pending.discard(index)
        if outcome.error is None and outcome.value is not None:
            self.answered[index] = outcome.value
        if self.wake_at is None and _both_sides(self.answered.values()):
            self.wake_at = time.monotonic() + PATIENCE
        if self.pending and not _settled(self.attempts, self.answered, self.pending):
            return None
        return self.tick()

    def tick(self):
        """Settle with what answered so far (the patience is over, or nothing is pending)."""
        for probe_deadline in self.deadlines:  # the probes still waiting on a silent host end now
            probe_deadline.abort("timeout")
        found = [self.answered[index] for index in sorted(self.answered)]
        incoming = tuple(server for server in found if server.protocol != "smtp")
        outgoing = tuple(server for server in found if server.protocol == "smtp")
        if not incoming or not outgoing:
            if all(probe_deadline.passed for probe_deadline in self.deadlines):
                return Outcome(error=LookupTimeout(self.domain))
            return Outcome(Text(_lt("no server answered on the usual names and ports")))
        probed = ", ".join(f"{server.protocol.upper()} {server.host}:{server.port}" for server in found)
        return Outcome(Configuration("guess", self.domain, incoming, outgoing, detail="probed " + probed))


def _both_sides(servers):
    protocols = {server.protocol for server in servers}
    return "smtp" in protocols and bool(protocols - {"smtp"})


def _settled(attempts, answered, pending):
    """Each side has an answer and no pending candidate ranks above it."""
    for outgoing in (False, True):
        indexes = [index for index in answered if (attempts[index][0] == "smtp") == outgoing]
        if not indexes:
            return False
        if any(index < min(indexes) and (attempts[index][0] == "smtp") == outgoing for index in pending):
            return False
    return True


def probe(attempt, email, resolver, deadline, options, cafile):
    """The server found at one candidate (Deadline ``deadline``), or None."""
    protocol, host, security = attempt
    port = options.guess_ports.get((protocol, security), DEFAULT_PORTS[(protocol, security)])
    try:
        address = resolver.address(host, deadline)
        if address == "":
            return None
        settings = make_server(protocol, host, port, security, email.strip(), email, cafile=cafile)
    except Exception:  # noqa: BLE001 - a name that does not resolve is simply not a candidate
        return None
    probing = settings.replace(address=address or "", tls_policy="any", allow_internal=options.allow_internal)
    return _open(probing, deadline, settings)


def _open(probing, deadline, found):
    """Connect with ``probing`` settings; on success the found server, with safe logon when offered."""
    from ..probe import Probe

    connection = Probe(probing, deadline)
    try:
        PROTOCOLS[probing.protocol].open_connection(connection)
    except Exception as error:  # noqa: BLE001 - any failure means 'not this one', except a plain port
        if probing.security == "starttls" and _code(connection, error) == "starttls_unsupported":
            connection.close()
            return _open(probing.replace(security="none"), deadline, found.replace(security="none"))
        return None
    finally:
        connection.close()
    mechanisms = set(connection.facts.get("auth_mechanisms", ()))
    if probing.protocol == "pop3" and "<" in connection.facts.get("banner", ""):
        mechanisms.add("APOP")
    return found.replace(address="", safe_logon=bool(mechanisms & SAFE))


def _code(probe, error):
    try:
        return probe.failure(error).code
    except Exception:  # noqa: BLE001 - an error the probe does not know is no STARTTLS verdict
        return None
