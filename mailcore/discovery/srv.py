"""RFC 6186 / RFC 8314 SRV records: the domain says itself where its IMAP, POP3 and submission are.

Thunderbird does not look at them; we do. All six names are asked at once; the login is the
address, as RFC 6186 recommends.
"""

import concurrent.futures

from .config import Configuration, make_server
from .dns import SRV_SERVICES, LookupTimeout, service


def lookup(email, domain, resolver, deadline, cafile="", **extra):
    """The Configuration the SRV records of ``domain`` describe, or None when they describe nothing."""
    incoming, outgoing, timed_out = [], [], False
    with concurrent.futures.ThreadPoolExecutor(len(SRV_SERVICES), thread_name_prefix="discovery-srv") as pool:
        jobs = {name: pool.submit(resolver.srv, f"{name}.{domain}", deadline) for name in SRV_SERVICES}
        for name, job in jobs.items():
            try:
                targets = job.result()
            except LookupTimeout:
                timed_out = True
                continue
            protocol, security = service(name)
            for host, port in targets or ():
                try:
                    server = make_server(protocol, host, port, security, email.strip(), email, cafile=cafile)
                except ValueError:
                    continue
                (outgoing if protocol == "smtp" else incoming).append(server)
    if not incoming and not outgoing:
        if timed_out:
            raise LookupTimeout(domain)
        return None
    return Configuration("srv", domain, tuple(incoming), tuple(outgoing), detail=f"SRV records of {domain}", **extra)
