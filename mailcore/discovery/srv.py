"""RFC 6186 / RFC 8314 SRV records: the domain says itself where its IMAP, POP3 and submission are.

Thunderbird does not look at them; we do. All six names are asked at once, as jobs of the discovery
run; the login is the address, as RFC 6186 recommends.
"""

import functools

from .config import Configuration, make_server
from .dns import SRV_SERVICES, LookupTimeout, service
from .jobs import Outcome


class Lookup:
    """The six SRV names of ``domain``: ``calls()`` are the queries, ``collect()`` each answer; the
    last answer gives the Configuration they describe, None when they describe nothing."""

    def __init__(self, email, domain, resolver, new_deadline, cafile="", **extra):
        self.email, self.domain, self.cafile, self.extra = email, domain, cafile, extra
        self.calls = [
            functools.partial(resolver.srv, f"{name}.{domain}", new_deadline()) for name in SRV_SERVICES
        ]
        self.answers = {}

    def collect(self, index, outcome):
        """The lookup's own outcome once every name has answered (or timed out), else None."""
        self.answers[index] = outcome
        if len(self.answers) < len(self.calls):
            return None
        incoming, outgoing, timed_out = [], [], False
        login = self.email.strip()
        for index, name in enumerate(SRV_SERVICES):
            try:
                targets = self.answers[index].get()
            except LookupTimeout:
                timed_out = True
                continue
            protocol, security = service(name)
            for host, port in targets or ():
                try:
                    server = make_server(protocol, host, port, security, login, self.email, cafile=self.cafile)
                except ValueError:
                    continue
                (outgoing if protocol == "smtp" else incoming).append(server)
        if not incoming and not outgoing:
            return Outcome(error=LookupTimeout(self.domain)) if timed_out else Outcome(None)
        detail = f"SRV records of {self.domain}"
        return Outcome(Configuration("srv", self.domain, tuple(incoming), tuple(outgoing), detail=detail, **self.extra))
