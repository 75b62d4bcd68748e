"""SRV, MX and address look-ups through the configured DNS servers, each bounded by the time left.

dnspython is imported when a look-up runs, not at import, so the core loads without it or a network.
"""

import random

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


class LookupTimeout(Exception):
    """The DNS servers did not answer in time: 'nothing found' would be a lie."""


class Resolver:
    def __init__(self, nameservers=(), port=53):
        self.nameservers = tuple(nameservers)
        self.port = int(port)

    @property
    def custom(self):
        """Whether our own DNS servers answer, rather than the system's resolver."""
        return bool(self.nameservers)

    def _resolver(self):
        import dns.resolver

        if self.nameservers:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = list(self.nameservers)
            resolver.port = self.port
        else:
            resolver = dns.resolver.Resolver()
        return resolver

    def query(self, name, rdtype, deadline):
        """The records of one type, [] when there are none; LookupTimeout when nobody answered."""
        import dns.exception
        import dns.resolver

        remaining = deadline.remaining()
        if remaining <= 0:
            raise LookupTimeout(name)
        try:
            resolver = self._resolver()
            answer = resolver.resolve(name, rdtype, lifetime=remaining, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers, dns.name.NameTooLong):
            return []
        except dns.exception.Timeout as error:
            raise LookupTimeout(name) from error
        except dns.exception.DNSException:
            return []
        return list(answer)

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
