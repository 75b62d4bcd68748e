"""A real DNS server on loopback for discovery tests, built on dnspython (also in Odoo's Python).

``DnsServer(records)`` answers UDP (and TCP) queries from a zone given as
``{("name.", "TYPE"): ["rdata", ...]}``; names it does not know get NXDOMAIN. ``blackhole=True``
makes it swallow every query, as a firewalled resolver does; ``blackhole=("MX",)`` only those types;
``refuse=True`` answers every query REFUSED, as a resolver that serves other networks only does.
``delay`` (seconds) holds each answer back, as a resolver that far away would (the benchmarks'
round-trip time).
"""

import socketserver
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

try:  # the Odoo tier imports this file as part of the addon's tests package, the pure tier as a top-level module
    from .loopback import SocketServerThread, TcpServer
except ImportError:
    from loopback import SocketServerThread, TcpServer


class DnsServer(SocketServerThread):
    def __init__(self, records=None, blackhole=False, wildcard_a=(), delay=0.0, refuse=False):
        """``wildcard_a``: domain suffixes whose every name has A 127.0.0.1 (e.g. ``("disco.test",)``)."""
        self.records = {
            (name.lower().rstrip(".") + ".", kind): list(values) for (name, kind), values in (records or {}).items()
        }
        self.blackhole = blackhole
        self.refuse = refuse
        self.delay = delay
        self.wildcard_a = tuple(suffix.lower().rstrip(".") for suffix in wildcard_a)
        self.queries = []
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = server.answer(data)
                time.sleep(server.delay)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        super().__init__(socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp))

    def answer(self, data):
        query = dns.message.from_wire(data)
        question = query.question[0]
        name, kind = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, kind))
        if self.blackhole is True or kind in (self.blackhole or ()):
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if self.refuse:
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        values = self.records.get((name, kind))
        bare = name.rstrip(".")
        if (
            values is None
            and kind == "A"
            and (
                bare == "localhost" or any(bare == suffix or bare.endswith("." + suffix) for suffix in self.wildcard_a)
            )
        ):
            values = ["127.0.0.1"]
        if values:
            response.answer.append(dns.rrset.from_text_list(name, 60, "IN", kind, values))
        elif not any(known == name for known, _kind in self.records) and kind != "AAAA":
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()


class Blackhole(TcpServer):
    """A TCP port that accepts connections and never says a word (nor TLS, nor a greeting)."""
