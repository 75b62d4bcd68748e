#!/usr/bin/env python3
"""How long discovery takes: bundled data, SRV and autoconfig on loopback, and everything blackholed.

Run with the harness's servers up (the HTTPS server's certificate comes from its CA, the checks go
to its Dovecot)::

    EMAIL_ACCOUNT_TEST_SERVERS=/path/servers.json .venv/bin/python benchmarks/discovery.py [--runs 20]

Each case is the median of ``--runs`` runs. The baseline, measured in the same run, is one SRV
query to the same loopback DNS server: ratios say how many such round trips a discovery costs.
The blackholed case is compared with its budget instead.
"""

# pylint: disable=print-used  # a command-line report: its output is the point
import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "core")]

from discoveryenv import ALICE, document, options, srv_zone, xml_route  # noqa: E402
from dnsserver import Blackhole, DnsServer  # noqa: E402
from httpsserver import HttpsServer  # noqa: E402
from mailcore.deadline import Deadline  # noqa: E402
from mailcore.discovery import discover  # noqa: E402
from mailcore.discovery.dns import Resolver  # noqa: E402


def median(function, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--budget", type=float, default=10.0, help="budget of the blackholed case")
    args = parser.parse_args()
    with open(os.environ["EMAIL_ACCOUNT_TEST_SERVERS"], encoding="utf-8") as handle:
        servers = json.load(handle)
    password = servers["users"]["alice"]["password"]
    ca = servers["ca_file"]
    rows = []
    with DnsServer(srv_zone(servers, "example.test"), wildcard_a=("example.test",)) as dns:
        resolver = Resolver(("127.0.0.1",), dns.port)
        baseline = median(lambda: resolver.srv("_imaps._tcp.example.test", Deadline(5)), args.runs)
        opts = options(dns, use_mx=False, cafile=ca)
        rows.append(
            (
                "bundled provider (gmail.com), no password",
                median(lambda: discover("someone@gmail.com", options=opts), args.runs),
            )
        )
        rows.append(("DNS SRV, no password", median(lambda: discover(ALICE, options=opts), args.runs)))
        rows.append(
            ("DNS SRV, checked with Dovecot", median(lambda: discover(ALICE, password, options=opts), args.runs))
        )
        routes = {("autoconfig.example.test", "/mail/config-v1.1.xml"): xml_route(document(servers))}
        with HttpsServer(servers, ["autoconfig.example.test"], routes) as web:
            web_opts = options(dns, web, use_mx=False, use_srv=False, cafile=ca)
            rows.append(
                (
                    "autoconfig over HTTPS, no password",
                    median(lambda: discover(ALICE, options=web_opts), args.runs),
                )
            )
            rows.append(
                (
                    "autoconfig over HTTPS, checked with Dovecot",
                    median(lambda: discover(ALICE, password, options=web_opts), args.runs),
                )
            )
    print(f"baseline: one SRV query to the loopback DNS server: {baseline * 1000:.2f} ms")
    print(f"{'case':50} {'median':>10} {'x baseline':>11}")
    for name, seconds in rows:
        print(f"{name:50} {seconds * 1000:8.1f} ms {seconds / baseline:10.1f}x")
    with DnsServer(blackhole=True) as dead_dns, Blackhole() as hole:
        budget_case("DNS server never answers", options(dead_dns, use_guess=True), args.budget)
        ports = {(p, s): hole.port for p in ("imap", "pop3", "smtp") for s in ("ssl", "starttls")}
        with DnsServer(wildcard_a=("example.test",)) as dns:
            silent = options(
                dns,
                use_guess=True,
                https_port=hole.port,
                extra_ports=frozenset({hole.port}),
                guess_ports=ports,
                ispdb_url=f"https://ispdb.example.test:{hole.port}/",
            )
            budget_case("every host accepts and never speaks", silent, args.budget)


def budget_case(name, opts, budget):
    started = time.perf_counter()
    discover(ALICE, "pw", budget=budget, options=opts)
    elapsed = time.perf_counter() - started
    print(f"{name:50} {elapsed:8.2f} s  {elapsed / budget:9.2f}x budget ({budget:g} s)")


if __name__ == "__main__":
    main()
