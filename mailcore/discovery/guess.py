"""The last resort: probe the usual server names of the domain on the standard ports, all at once.

Each probe connects, reads the greeting and capabilities (through STARTTLS where offered) and stops
before any login, so no password is sent to a guessed host. Certificates are not judged here: the
check that follows does that, and shows the certificate when it is not trusted.
"""

import concurrent.futures

from ..check import PROTOCOLS
from ..deadline import Deadline
from ..sasl import SAFE
from ..settings import DEFAULT_PORTS
from ..text import Text, _lt
from .config import Configuration, make_server
from .dns import LookupTimeout

# Host prefixes probed per protocol, in Thunderbird's order; "" is the bare domain.
PREFIXES = {"imap": ("imap.", "mail.", ""), "pop3": ("pop3.", "pop.", "mail.", ""), "smtp": ("smtp.", "mail.", "")}
SECURITIES = {"imap": ("ssl", "starttls"), "pop3": ("ssl", "starttls"), "smtp": ("ssl", "starttls")}


def lookup(email, domain, resolver, deadline, options, cafile=""):
    """A Configuration built from what answered, or None when no incoming or no outgoing server did."""
    attempts = [
        (protocol, prefix + domain, security)
        for protocol, prefixes in PREFIXES.items()
        for prefix in prefixes
        for security in SECURITIES[protocol]
    ]
    found, timed_out = [], False
    pool = concurrent.futures.ThreadPoolExecutor(len(attempts), thread_name_prefix="discovery-guess")
    jobs = [pool.submit(_probe, attempt, email, resolver, deadline, options, cafile) for attempt in attempts]
    try:
        for job in concurrent.futures.as_completed(jobs, timeout=deadline.remaining()):
            if job.result() is not None:
                found.append(job.result())
    except concurrent.futures.TimeoutError:
        timed_out = True
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    order = {attempt: index for index, attempt in enumerate(attempts)}
    found.sort(key=lambda server: order[(server.protocol, server.host, _asked(server))])
    incoming = tuple(server for server in found if server.protocol != "smtp")
    outgoing = tuple(server for server in found if server.protocol == "smtp")
    if not incoming or not outgoing:
        if timed_out:
            raise LookupTimeout(domain)
        return Text(_lt("no server answered on the usual names and ports"))
    return Configuration(
        "guess",
        domain,
        incoming,
        outgoing,
        detail="probed " + ", ".join(f"{server.protocol.upper()} {server.host}:{server.port}" for server in found),
    )


def _asked(server):
    """The security we probed with: a plain answer comes from a STARTTLS probe."""
    return "starttls" if server.security == "none" else server.security


def _probe(attempt, email, resolver, deadline, options, cafile):
    protocol, host, security = attempt
    port = options.guess_ports.get((protocol, security), DEFAULT_PORTS[(protocol, security)])
    try:
        address = resolver.address(host, deadline)
        if address == "":
            return None
        settings = make_server(protocol, host, port, security, email.strip(), email, cafile=cafile)
    except Exception:  # noqa: BLE001 - a name that does not resolve is simply not a candidate
        return None
    return _open(settings.replace(address=address or "", tls_policy="any"), deadline, settings)


def _open(probing, deadline, found):
    """Connect with ``probing`` settings; on success the found server, with safe logon when offered."""
    from ..probe import Probe

    probe = Probe(probing, Deadline(deadline.remaining()))
    try:
        PROTOCOLS[probing.protocol].open_connection(probe)
    except Exception as error:  # noqa: BLE001 - any failure means 'not this one', except a plain port
        if probing.security == "starttls" and _code(probe, error) == "starttls_unsupported":
            probe.close()
            return _open(probing.replace(security="none"), deadline, found.replace(security="none"))
        return None
    finally:
        probe.close()
    mechanisms = set(probe.facts.get("auth_mechanisms", ()))
    if probing.protocol == "pop3" and "<" in probe.facts.get("banner", ""):
        mechanisms.add("APOP")
    return found.replace(address="", safe_logon=bool(mechanisms & SAFE))


def _code(probe, error):
    try:
        return probe.failure(error).code
    except Exception:  # noqa: BLE001 - an error the probe does not know is no STARTTLS verdict
        return None
