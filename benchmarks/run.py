#!/usr/bin/env python3
"""`make bench`: every benchmark in one run, as ratios measured side by side, into docs/BENCHMARKS.md.

Run through ``benchmarks/run.sh`` (it finds Odoo and PostgreSQL as ``make test`` does), or directly
with the project's venv; the Odoo rows run when ``ODOO_PATH`` and ``ODOO_PYTHON`` are set::

    .venv/bin/python benchmarks/run.py [--quick] [--runs 20] [--messages 2000] [--rtt 50] [--no-write]

It starts its own harness mail servers (state dir ``BENCH_STATE_DIR``, default ``.run/bench``; base
port ``BENCH_BASE_PORT``, default 29000) and a silent server (accepts, never answers), creates a
throwaway database with the addon installed, runs the rows, and stops and drops all of it on exit.
Rows that need Odoo run in their own Odoo process each (``benchmarks/odoo_rows.py``), so the peak
memory reported is that row's.

The remote rows put the servers ``--rtt`` milliseconds away (default 50; 0 leaves only the loopback
rows): ``benchmarks/latency.py`` proxies the Dovecot ports they use, holding each chunk for half the
round trip in each direction, and counts the round trips each contender spends.
"""

# pylint: disable=print-used  # a command-line report: its output is the point
import argparse
import copy
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE, os.path.join(ROOT, "tests", "core")]

import discovery  # noqa: E402
import queue_round  # noqa: E402
from floor import bare_check  # noqa: E402
from latency import LatencyProxy  # noqa: E402
from odoo_db import Odoo  # noqa: E402
from report import STOCK_CAP, VARIANTS, render, render_queue  # noqa: E402

from dnsserver import Blackhole  # noqa: E402
from mailcore import ServerSettings, check_account  # noqa: E402
from mailcore.settings import DEFAULT_TIMEOUT  # noqa: E402

HARNESS = os.path.join(ROOT, "tests", "harness", "mailservers.py")
INSTANCE = "plainonly"  # PLAIN/LOGIN only: every contender does the same login work


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip stock's run against the silent server")
    parser.add_argument("--runs", type=int, default=20, help="runs per contender for the medians")
    parser.add_argument("--messages", type=int, default=2000, help="mailbox size of the fetch rows")
    parser.add_argument("--accounts", default="100,500", help="account counts of the batch rows")
    parser.add_argument("--rtt", type=float, default=50.0, help="round-trip time of the remote rows, ms (0: none)")
    parser.add_argument(
        "--mailboxes", type=int, default=queue_round.MAILBOXES, help="mailboxes of the queue_job round row"
    )
    parser.add_argument("--mailbox-messages", type=int, default=3, help="messages in each of those mailboxes")
    parser.add_argument(
        "--queue-only", action="store_true", help="only the queue_job row, replacing its section of the report"
    )
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/BENCHMARKS.md alone")
    parser.add_argument("--render", metavar="RESULTS_JSON", help="only render the results a run saved")
    args = parser.parse_args()
    if args.render:
        with open(args.render, encoding="utf-8") as handle:
            results = json.load(handle)
        if "rounds" in results:  # the queue_job row's own file (queue-results.json)
            return publish_section(render_queue(results), args)
        no_write = args.no_write
        vars(args).update(results.pop("args"), no_write=no_write)
        # When the run ended: the results file was written then.
        ended = datetime.datetime.fromtimestamp(os.path.getmtime(args.render), datetime.UTC)
        results.setdefault("date", ended.isoformat())
        publish(render(results, args), args)
        return
    state_dir = os.environ.get("BENCH_STATE_DIR") or os.path.join(ROOT, ".run", "bench")
    base_port = os.environ.get("BENCH_BASE_PORT") or "29000"
    # The queue_job row's rounds as each ends: a long run cut short can still be rendered (--render).
    queue_saved = os.path.join(state_dir, "queue-results.json")
    load_start = os.getloadavg()
    started = time.monotonic()
    harness = [sys.executable, HARNESS]
    path = subprocess.run(
        [*harness, "start", "--state-dir", state_dir, "--base-port", base_port],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    os.environ["EMAIL_ACCOUNT_TEST_SERVERS"] = path  # discovery's loopback options read the harness ports
    try:
        with open(path, encoding="utf-8") as handle:
            servers = json.load(handle)
        odoo = Odoo.from_environment()
        if args.queue_only:
            if not odoo:
                raise SystemExit("--queue-only needs Odoo: run it through benchmarks/run.sh")
            with odoo:
                queue = queue_round.run(
                    odoo, servers, args.rtt / 1000, args.mailboxes, args.mailbox_messages, saved_to=queue_saved
                )
            return publish_section(render_queue(queue), args)
        with Blackhole() as silent:
            results = {"pure": pure_rows(servers, args, silent.port)}
            remote = Remote(servers, args.rtt / 1000, state_dir) if args.rtt else None
            try:
                if remote:
                    results["remote_discovery"] = remote.discovery(args.runs)
                if odoo:
                    with odoo:
                        results["odoo"] = odoo_rows(odoo, path, args, silent.port, remote)
                        results["queue"] = queue_round.run(
                            odoo, servers, args.rtt / 1000, args.mailboxes, args.mailbox_messages, saved_to=queue_saved
                        )
            finally:
                if remote:
                    remote.stop()
    finally:
        subprocess.run([*harness, "stop", "--state-dir", state_dir], check=False, capture_output=True)
    results["load"] = (load_start, os.getloadavg())
    results["minutes"] = (time.monotonic() - started) / 60
    results["date"] = datetime.datetime.now(datetime.UTC).isoformat()
    results["commit"] = commit()
    # Kept beside the servers' state, so that the table can be rendered again (--render) without a rerun.
    os.makedirs(state_dir, exist_ok=True)
    with open(os.path.join(state_dir, "results.json"), "w", encoding="utf-8") as handle:
        json.dump({**results, "args": {key: value for key, value in vars(args).items() if key != "render"}}, handle)
    publish(render(results, args), args)


def commit():
    """The code measured: the checkout's commit, marked when files differ from it."""
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True)
    return (head.stdout.strip() or "unknown") + (" with local changes" if dirty.stdout.strip() else "")


def publish(report, args):
    print(report)
    if not args.no_write:
        with open(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "w", encoding="utf-8") as handle:
            handle.write(report)


def publish_section(section, args):
    """Replace the queue_job section of docs/BENCHMARKS.md (or add it at the end) with ``section``."""
    print(section)
    if args.no_write:
        return
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    heading = section.splitlines()[0]
    before, found, after = text.partition(heading)
    if found:
        rest = after.split("\n## ", 1)
        text = before + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def interleaved(contenders, runs):
    """Median seconds of each contender, run in turn with a rotating first, and how many calls succeeded."""
    times = {name: [] for name in contenders}
    ok = dict.fromkeys(contenders, 0)
    names = list(contenders)
    for run in range(runs):
        for name in names[run % len(names) :] + names[: run % len(names)]:
            begun = time.perf_counter()
            ok[name] += bool(contenders[name]())
            times[name].append(time.perf_counter() - begun)
    return {name: statistics.median(values) for name, values in times.items()}, ok


def pure_rows(servers, args, silent_port):
    """Rows without Odoo: the core check vs the floor, the core against a silent server, discovery."""
    user, ports, host = servers["users"]["bob"], servers["dovecot"][INSTANCE], servers["hostname"]
    common = {"login": user["login"], "password": user["password"], "sender": user["email"]}
    common["cafile"] = servers["ca_file"]
    outgoing = ServerSettings("smtp", host, ports["submission"], "starttls", **common)
    incoming = ServerSettings("imap", host, ports["imaps"], "ssl", **common)
    floor_args = (host, ports["submission"], ports["imaps"], user["login"], user["password"], user["email"])

    def floor(concurrent):
        bare_check(*floor_args, servers["ca_file"], concurrent=concurrent)
        return True

    medians, ok = interleaved(
        {
            "core": lambda: check_account(outgoing, incoming).ok,
            "floor": lambda: floor(False),
            "floor_concurrent": lambda: floor(True),
        },
        args.runs,
    )
    dead = outgoing.replace(port=silent_port), incoming.replace(port=silent_port)
    silent_runs = []
    for _run in range(1 if args.quick else 3):
        begun = time.perf_counter()
        check_account(*dead, timeout=DEFAULT_TIMEOUT)
        silent_runs.append(time.perf_counter() - begun)
    baseline, cases = discovery.measure(servers, args.runs)
    return {
        "check": {"median": medians, "ok": ok},
        "silent": statistics.median(silent_runs),
        "discovery": {"srv_query": baseline, "cases": cases},
    }


class Remote:
    """The harness's servers ``rtt`` seconds away: the latency proxy in front of the Dovecot ports the
    remote rows use, and a servers file that names the proxy's ports instead."""

    SERVICES = {"plainonly": ("submission", "imaps", "pop3s"), "main": ("submission", "imaps", "pop3s")}

    def __init__(self, servers, rtt, state_dir):
        self.rtt = rtt
        dovecot = servers["dovecot"]
        self.proxy = LatencyProxy.start(rtt, [dovecot[i][name] for i, names in self.SERVICES.items() for name in names])
        self.servers = copy.deepcopy(servers)
        self.servers["unproxied"] = dovecot["main"]  # filling a mailbox is set-up, not measured
        for instance, names in self.SERVICES.items():
            for name in names:
                self.servers["dovecot"][instance][name] = self.proxy.ports[dovecot[instance][name]]
        self.path = os.path.join(state_dir, "servers-remote.json")
        with open(self.path, "w", encoding="utf-8") as handle:
            json.dump(self.servers, handle)

    def discovery(self, runs):
        """Discovery's remote rows; the proxied ports are the ones found servers may use meanwhile."""
        direct = os.environ["EMAIL_ACCOUNT_TEST_SERVERS"]
        os.environ["EMAIL_ACCOUNT_TEST_SERVERS"] = self.path
        try:
            return discovery.measure_remote(self.servers, self.rtt, runs)
        finally:
            os.environ["EMAIL_ACCOUNT_TEST_SERVERS"] = direct

    def stop(self):
        self.proxy.stop()


def odoo_rows(odoo, servers_json, args, silent_port, remote):
    results = {
        "check": odoo.row(
            servers_json,
            "account-check",
            "--runs",
            args.runs,
            "--silent-port",
            silent_port,
            "--silent-runs",
            1 if args.quick else 3,
        )
    }
    if not args.quick:
        begun = time.perf_counter()
        stock = odoo.row(servers_json, "stock-silent", "--silent-port", silent_port, timeout=STOCK_CAP)
        results["stock_silent"] = {"seconds": time.perf_counter() - begun, "finished": stock}
    results["batch"] = [
        odoo.row(servers_json, "batch", "--accounts", count) for count in map(int, args.accounts.split(","))
    ]
    results["fetch"] = [
        odoo.row(servers_json, "fetch", "--protocol", protocol, "--messages", args.messages)
        for protocol in ("imap", "pop3")
    ]
    if remote:
        control = ("--proxy-control", remote.proxy.control_port)
        results["remote_check"] = [
            odoo.row(remote.path, "remote-check", "--variant", variant, "--runs", args.runs, *control)
            for variant in VARIANTS
        ]
        results["remote_batch"] = [
            odoo.row(remote.path, "batch", "--accounts", count) for count in map(int, args.accounts.split(","))
        ]
    results["race"] = []
    for rtt, path, options in ((0, servers_json, ()), *(((remote.rtt, remote.path, control),) if remote else ())):
        for protocol in ("imap", "pop3"):
            rows = {
                contender: odoo.race(path, contender, protocol, args.messages, *options)
                for contender in ("ours", "stock")
            }
            results["race"].append({"rtt": rtt, "protocol": protocol, **rows})
    return results


if __name__ == "__main__":
    main()
