"""SRV, MX and address look-ups through the configured DNS servers, each bounded by the time left.

dnspython is imported when a look-up runs, not at import, so the core loads without it or a network.
"""

import functools
import random
import select
import socket
import time

_SERVICES = {
    # RFC 6186 / RFC 8314 service names -> (protocol, security)
    "_submissions._tcp": ("smtp", "ssl"),
    "_submission._tcp": ("smtp", "starttls"),
    "_imaps._tcp": ("imap", "ssl"),
    "_imap._tcp": ("imap", "starttls"),
    "_pop3s._tcp": ("pop3", "ssl"),
    "_pop3._tcp": ("pop3", "starttls"),
}
SRV_SERVICES = tuple(_SERVICES)
# Each DNS server gets this long to answer one try, and at most this many tries, within the deadline.
TRY_SECONDS = 2.0
MAX_TRIES = 3
# How often a wait for an answer looks whether its deadline was aborted (a select() cannot be woken).
ABORT_POLL = 0.05


class LookupTimeout(Exception):
    """The DNS servers did not answer in time: 'nothing found' would be a lie."""


class Resolver:
    def __init__(self, nameservers=(), port=53):
        self.nameservers = tuple(nameservers)
        self.port = int(port)
        # Whether any question went out, and whether any DNS server answered one (a refusal is no
        # answer): asked and never answered means this server cannot resolve names at all, not that
        # the names do not exist.
        self.asked = False
        self.answered = False

    @property
    def silent(self):
        """Asked, and no DNS server ever answered."""
        return self.asked and not self.answered

    def server_names(self):
        """The DNS servers asked, for the user ("127.0.0.53"); empty if none is configured."""
        try:
            return [address for address, _port in self._servers]
        except Exception:  # noqa: BLE001 - no resolv.conf: no server to name
            return []

    @property
    def custom(self):
        """Whether our own DNS servers answer, rather than the system's resolver."""
        return bool(self.nameservers)

    @functools.cached_property
    def _servers(self):
        """(address, port) of each DNS server to ask: ours, else the system's (resolv.conf, read once
        per Resolver, i.e. once per discovery run, not once per question)."""
        if self.nameservers:
            return [(address, self.port) for address in self.nameservers]
        import dns.resolver

        return [(address, 53) for address in dns.resolver.Resolver().nameservers]

    def query(self, name, rdtype, deadline):
        """The records of one type, [] when there are none; LookupTimeout when nobody answered in
        time, or the deadline was aborted (the run is over: the question no longer matters)."""
        import dns.exception
        import dns.message
        import dns.rcode
        import dns.rdataclass
        import dns.resolver

        try:
            request = dns.message.make_query(name, rdtype)
        except dns.exception.DNSException:  # not a name DNS can carry (too long, empty label)
            return []
        servers, answered = self._servers, False
        self.asked = True
        for attempt in range(MAX_TRIES * len(servers)):
            if deadline.abort_reason or deadline.remaining() <= 0:
                break
            address, port = servers[attempt % len(servers)]
            try:
                response = _exchange(request, address, port, deadline)
            except (dns.exception.DNSException, OSError):  # silent, or not a DNS answer: the next one
                continue
            if response is None:
                continue
            answered = True
            rcode = response.rcode()
            if rcode == dns.rcode.NXDOMAIN:
                self.answered = True
                return []
            if rcode != dns.rcode.NOERROR:  # SERVFAIL, REFUSED: another server may know
                continue
            self.answered = True
            question = request.question[0]
            try:
                return list(dns.resolver.Answer(question.name, question.rdtype, dns.rdataclass.IN, response))
            except dns.exception.DNSException:  # no records of that type (after any CNAME)
                return []
        if answered:  # every server that answered failed (SERVFAIL, REFUSED): nothing to be found
            return []
        raise LookupTimeout(name)

    def srv(self, name, deadline):
        """Targets of an SRV name in RFC 2782 order: (target, port); None when '.' says 'no service'."""
        records = self.query(name, "SRV", deadline)
        if len(records) == 1 and records[0].target.to_text() == ".":
            return None
        ordered = []
        for priority in sorted({record.priority for record in records}):
            group = [record for record in records if record.priority == priority and record.target.to_text() != "."]
            ordered.extend(_weighted_order(group))
        return [(record.target.to_text().rstrip("."), record.port) for record in ordered]

    def mx_hosts(self, domain, deadline):
        records = [record for record in self.query(domain, "MX", deadline) if record.exchange.to_text() != "."]
        records.sort(key=lambda record: record.preference)
        return [record.exchange.to_text().rstrip(".").lower() for record in records]

    def addresses(self, host, deadline):
        """Every IPv4 and IPv6 address of ``host``, from our DNS servers or the system's."""
        return [record.address for rdtype in ("A", "AAAA") for record in self.query(host, rdtype, deadline)]

    def address(self, host, deadline):
        """An IPv4 (else IPv6) address of ``host`` from our DNS servers; None to let the system resolve."""
        if not self.custom:
            return None
        for rdtype in ("A", "AAAA"):
            records = self.query(host, rdtype, deadline)
            if records:
                return records[0].address
        return ""


def _exchange(request, address, port, deadline):
    """One question to one DNS server over UDP (TCP when the answer is truncated); the response, or
    None when the try's time ran out or the deadline was aborted."""
    import dns.flags
    import dns.inet
    import dns.query

    end = min(time.monotonic() + TRY_SECONDS, deadline.end)
    with socket.socket(dns.inet.af_for_address(address), socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        destination = (address, port)
        dns.query.send_udp(sock, request, destination)
        while not deadline.abort_reason:
            left = end - time.monotonic()
            if left <= 0:
                return None
            readable, _writable, _error = select.select([sock], [], [], min(left, ABORT_POLL))
            if readable:
                response, _received = dns.query.receive_udp(
                    sock, destination, expiration=time.time() + left, ignore_unexpected=True, query=request
                )
                if response.flags & dns.flags.TC:
                    return dns.query.tcp(request, address, timeout=max(0.01, end - time.monotonic()), port=port)
                return response
    return None


def _weighted_order(records):
    """RFC 2782: within one priority, pick by weight at random, heavier ones more often."""
    pending = list(records)
    ordered = []
    while pending:
        total = sum(record.weight for record in pending)
        pick = random.uniform(0, total) if total else 0
        running = 0
        for record in pending:
            running += record.weight
            if running >= pick:
                break
        pending.remove(record)
        ordered.append(record)
    return ordered


def service(name):
    return _SERVICES[name]
