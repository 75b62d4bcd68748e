"""The check of a found configuration: each side's servers in order, until one passes.

Discovery never sends the password unencrypted: a server without TLS is offered for the manual
path, where the user decides, not checked. A host our own DNS servers do not know is not asked of the
system's resolver instead.
"""

from ..check import CheckResult, check_server
from ..errors import explain
from .dns import LookupTimeout

# Why an unencrypted server found by discovery was not checked.
UNENCRYPTED_REASON = "not tried: the password would be sent unencrypted"


def _not_checked(server, domain, stage, code, **extra):
    """The failed check of a server that was not attempted, for the reason ``code``."""
    params = {"host": server.host, "port": server.port, "protocol": server.protocol.upper(), "domain": domain}
    params.update(extra)
    return CheckResult(
        server.protocol,
        server.host,
        server.port,
        server.security,
        ok=False,
        stage=stage,
        code=code,
        params=params,
        message=explain(code, params),
    )


def _not_found(server, domain, answered=True):
    """The check of a server our DNS servers have no address for (``answered``), or did not answer for."""
    return _not_checked(server, domain, "resolve", "host_not_found" if answered else "dns_unavailable")


def _unencrypted(server, domain):
    """Discovery never sends the password unencrypted: such a server is offered for the manual path,
    where the user decides, not checked."""
    return _not_checked(server, domain, "tls", "starttls_unsupported", reason=UNENCRYPTED_REASON)


def check_side(servers, password, domain, resolver, new_deadline, allow_internal=True):
    """(CheckResult, server): the first of ``servers`` that passes, else the first one's failure (the
    server offered to the user is the one the failure names); a wrong password stops early, it would
    be wrong for the others too. Each attempt has a deadline of its own from ``new_deadline()``: one
    ended early (a plain answer on a TLS port) must not end the next. ``allow_internal``: see
    ServerSettings."""
    first = None
    for server in servers:
        if server.security == "none":
            first = first or (_unencrypted(server, domain), server)
            continue
        deadline = new_deadline()
        settings = server.replace(password=password, allow_internal=allow_internal)
        try:
            address = resolver.address(server.host, deadline)
        except LookupTimeout:
            first = first or (_not_found(server, domain, answered=False), server)
            continue
        if address == "":  # our DNS servers do not know it: the system's must not be asked instead
            first = first or (_not_found(server, domain), server)
            continue
        result = check_server(settings.replace(address=address or ""), deadline=deadline)
        if result.ok or result.code == "auth_failed" or deadline.remaining() <= 0:
            return result, server
        first = first or (result, server)
    return first or (_not_found(servers[0], domain), servers[0])
