#!/usr/bin/env python3
"""How long discovery takes: bundled data, SRV, autoconfig, Autodiscover and MX on loopback, and everything blackholed.

Run with the harness's servers up (the HTTPS server's certificate comes from its CA, the checks go
to its Dovecot)::

    EMAIL_ACCOUNT_TEST_SERVERS=/path/servers.json .venv/bin/python benchmarks/discovery.py [--runs 20]

Each case is the median of ``--runs`` runs. The baseline, measured in the same run, is one SRV
query to the same loopback DNS server: ratios say how many such round trips a discovery costs.
A checked case is also compared with the sequential sum of its probes: the look-ups alone (discovery
without a password, timed in the same run) plus every stage of both servers' checks one after another.
The blackholed cases are compared with their budget instead. ``make bench`` runs ``measure`` too.
"""

# pylint: disable=print-used  # a command-line report: its output is the point
import argparse
import json
import os
import statistics
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "core")]

from latency import LatencyProxy  # noqa: E402

from discoveryenv import (  # noqa: E402
    ALICE,
    POX_PATH,
    document,
    guessing,
    options,
    pox,
    silent_options,
    silent_probes,
    srv_zone,
    xml_route,
)
from dnsserver import Blackhole, DnsServer  # noqa: E402
from httpsserver import HttpsServer  # noqa: E402
from mailcore.deadline import Deadline  # noqa: E402
from mailcore.discovery import discover, guess  # noqa: E402
from mailcore.discovery.dns import Resolver  # noqa: E402


def median(function, runs):
    """The median time of ``runs`` calls, and the last call's return value."""
    times, value = [], None
    for _ in range(runs):
        started = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def sequential(found, checked):
    """The sequential sum of a case's probes: its look-ups alone, then each server's check stage by stage."""
    check = checked.check
    stages = [side.timings for side in (check.outgoing, check.incoming) if side is not None] if check else []
    return found + sum(sum(timings.values()) for timings in stages)


def outcome(result):
    if result.configuration is None:
        return "nothing found"
    if not result.password_given:
        return "found"
    if result.ok:
        return "found and checked"
    if result.check is None:
        return "found; not checked in time"
    failed = [side.code for side in (result.check.outgoing, result.check.incoming) if side and not side.ok]
    return "found; check failed: " + ", ".join(failed)


def measure(servers, runs=20, budget=10.0):
    """Every case: {name, seconds, sequential (or None), budget (or None), outcome}; plus the SRV round trip."""
    password = servers["users"]["alice"]["password"]
    ca = servers["ca_file"]
    cases = []

    def case(name, opts, email=ALICE, checked=True):
        found, _result = median(lambda: discover(email, options=opts), runs)
        if not checked:
            cases.append({"name": name, "seconds": found, "sequential": None, "outcome": outcome(_result)})
            return
        seconds, result = median(lambda: discover(email, password, options=opts), runs)
        cases.append(
            {"name": name, "seconds": seconds, "sequential": sequential(found, result), "outcome": outcome(result)}
        )

    with DnsServer(srv_zone(servers, "example.test"), wildcard_a=("example.test",)) as dns:
        resolver = Resolver(("127.0.0.1",), dns.port)
        baseline, _ = median(lambda: resolver.srv("_imaps._tcp.example.test", Deadline(5)), runs)
        opts = options(dns, use_mx=False, cafile=ca)
        case("bundled provider (gmail.com), found, not checked (no network)", opts, "someone@gmail.com", False)
        case("DNS SRV, found and checked with Dovecot", opts)
        routes = {
            ("autoconfig.example.test", "/mail/config-v1.1.xml"): xml_route(document(servers)),
            ("autodiscover.example.test", POX_PATH): xml_route(pox(servers)),
        }
        with HttpsServer(servers, ["autoconfig.example.test", "autodiscover.example.test"], routes) as web:
            only = {"use_mx": False, "use_srv": False, "cafile": ca}
            case(
                "autoconfig over HTTPS, found and checked with Dovecot",
                options(dns, web, use_autodiscover=False, **only),
            )
            case(
                "Exchange Autodiscover (POX), found and checked with Dovecot",
                options(dns, web, use_autoconfig=False, **only),
            )
    with DnsServer({("example.test", "MX"): ["1 smtp.google.com.", "5 alt1.aspmx.l.google.com."]}) as dns:
        opts = options(dns, use_srv=False, use_autoconfig=False, use_autodiscover=False)
        case("hosted by MX (Google Workspace), found, not checked", opts, checked=False)
    with DnsServer(blackhole=True) as dead_dns, Blackhole() as hole:
        cases.append(budget_case("DNS server never answers", options(dead_dns, use_guess=True), budget))
        with DnsServer(wildcard_a=("example.test",)) as dns:
            silent = silent_options(dns, hole)
            cases.append(budget_case("every host accepts and never speaks", silent, budget))
    cases.append(guess_case(servers, min(runs, 3), budget))
    return baseline, cases


def measure_remote(servers, rtt, runs=20):
    """SRV and autoconfig found and checked with everything ``rtt`` away: the DNS server answers after
    ``rtt``, the autoconfig web server and Dovecot are behind the latency proxy (``servers`` is the
    proxied servers file, so the SRV records and the document name the proxy's ports).

    Each case twice: against the instance that offers SCRAM-SHA-256 (which the check prefers; it costs
    two more round trips per login than PLAIN) and against the PLAIN-only one. Returns
    [{name, seconds, outcome}].
    """
    password = servers["users"]["alice"]["password"]
    ca = servers["ca_file"]
    cases = []
    for instance, logins in (("main", "SCRAM-SHA-256 logins"), ("plainonly", "PLAIN logins")):
        with DnsServer(srv_zone(servers, "example.test", instance), wildcard_a=("example.test",), delay=rtt) as dns:
            routes = {("autoconfig.example.test", "/mail/config-v1.1.xml"): xml_route(document(servers, instance))}
            with HttpsServer(servers, ["autoconfig.example.test"], routes) as web:
                proxy = LatencyProxy.start(rtt, [web.port])
                try:
                    remote_web = types.SimpleNamespace(port=proxy.ports[web.port])
                    for name, opts in (
                        (f"DNS SRV, found and checked with Dovecot ({logins})", options(dns, use_mx=False, cafile=ca)),
                        (
                            f"autoconfig over HTTPS, found and checked with Dovecot ({logins})",
                            options(dns, remote_web, use_mx=False, use_srv=False, cafile=ca),
                        ),
                    ):
                        seconds, result = median(lambda opts=opts: discover(ALICE, password, options=opts), runs)
                        cases.append({"name": name, "seconds": seconds, "outcome": outcome(result)})
                finally:
                    proxy.stop()
    return cases


def guess_case(servers, runs, budget):
    """Found only by guessing, most probes blackholed, the silent ones ranked above the server that
    answers: mail. is the harness Dovecot (except POP3 with STARTTLS); imap., smtp., pop3., pop. and the
    bare domain accept on every guessed port and never speak. The issue's example is 9 of 12 (75 %);
    our guesser probes 20 candidates, 15 of them silent here.

    The harness certificate names only localhost, so the check that follows fails on the host name:
    what is timed is the way to a checked verdict. The sequential sum is run, not computed: every
    probe one after another, each given the same patience as ours (guess.PATIENCE), then both checks.
    """
    answering, silent = ("mail.",), (("pop3", "starttls"),)
    password = servers["users"]["alice"]["password"]
    with guessing(servers, answering, silent) as opts:
        found, _ = median(lambda: discover(ALICE, options=opts, budget=budget), runs)
        seconds, result = median(lambda: discover(ALICE, password, options=opts, budget=budget), runs)
        resolver = Resolver(opts.nameservers, opts.dns_port)
        started = time.perf_counter()
        for attempt in guess.candidates("example.test"):
            guess.probe(attempt, ALICE, resolver, Deadline(guess.PATIENCE), opts, opts.cafile)
        probes = time.perf_counter() - started
    silent_count = silent_probes(answering, silent)
    total = len(guess.candidates("example.test"))
    return {
        "name": f"guessing only, {silent_count} of {total} probes blackholed (found / checked)",
        "seconds": seconds,
        "found_seconds": found,
        "sequential": sequential(probes, result),
        "outcome": outcome(result),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--budget", type=float, default=10.0, help="budget of the blackholed cases")
    args = parser.parse_args()
    with open(os.environ["EMAIL_ACCOUNT_TEST_SERVERS"], encoding="utf-8") as handle:
        servers = json.load(handle)
    baseline, cases = measure(servers, args.runs, args.budget)
    print(f"baseline: one SRV query to the loopback DNS server: {baseline * 1000:.2f} ms")
    print(f"{'case':62} {'median':>10} {'x baseline':>11} {'sequential sum':>15}")
    for row in cases:
        if row.get("budget"):
            print(f"{row['name']:62} {row['seconds']:8.2f} s  {row['seconds'] / row['budget']:9.2f}x budget", end="")
            print(f"  {row.get('note', '')} {row['outcome']}")
            continue
        sequential_text = f"{row['sequential'] * 1000:12.1f} ms" if row["sequential"] is not None else ""
        print(
            f"{row['name']:62} {row['seconds'] * 1000:8.1f} ms {row['seconds'] / baseline:10.1f}x {sequential_text}"
            f"  {row['outcome']}"
        )


def budget_case(name, opts, budget):
    started = time.perf_counter()
    result = discover(ALICE, "pw", budget=budget, options=opts)
    elapsed = time.perf_counter() - started
    return {"name": name, "seconds": elapsed, "sequential": None, "budget": budget, "outcome": outcome(result)}


if __name__ == "__main__":
    main()
