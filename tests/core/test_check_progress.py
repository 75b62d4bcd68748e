"""A running check says where it is, and a cancel ends it at once rather than at its budget."""

import time

import faultservers
from discoveryenv import options
from dnsserver import DnsServer
from mailcore import ServerSettings, check_account
from mailcore.discovery import discover
from mailcore.progress import Progress, run_aside

BUDGET = 10


def silent(protocol, port):
    return ServerSettings(protocol, "127.0.0.1", port, "none", "alice@example.test", "pw")


def test_progress_names_each_server_and_stage_and_cancel_ends_the_check_early():
    seen = []

    def report(snapshot):
        seen.append(snapshot)
        return len(seen) >= 3  # the user gives up after a second and a half

    with faultservers.ScriptedServer(faultservers.tarpit) as smtp, faultservers.ScriptedServer(
        faultservers.tarpit
    ) as imap:
        progress = Progress()
        started = time.monotonic()
        result = run_aside(
            lambda: check_account(silent("smtp", smtp.port), silent("imap", imap.port), BUDGET, progress=progress),
            progress,
            report,
        )
        elapsed = time.monotonic() - started
    assert {(server["protocol"], server["port"], server["stage"]) for server in seen[0]["servers"]} == {
        ("smtp", smtp.port, "greeting"),
        ("imap", imap.port, "greeting"),
    }
    assert 0 < seen[-1]["remaining"] < seen[0]["remaining"] <= BUDGET
    assert result.outgoing.code == result.incoming.code == "check_cancelled"
    assert "was stopped before it finished" in result.outgoing.message
    assert elapsed < 3 * 0.5 + faultservers.SLACK  # three reports, then the cancel: not the 10 s budget


def test_a_cancelled_discovery_returns_at_once_and_says_so():
    with faultservers.ScriptedServer(faultservers.tarpit) as hole, DnsServer(wildcard_a=("example.test",)) as dns:
        ports = {(p, s): hole.port for p in ("imap", "pop3", "smtp") for s in ("ssl", "starttls")}
        opts = options(dns, use_guess=True, guess_ports=ports, extra_ports=frozenset({hole.port}))
        progress = Progress()
        started = time.monotonic()
        result = run_aside(
            lambda: discover("alice@example.test", "pw", budget=BUDGET, options=opts, progress=progress),
            progress,
            lambda snapshot: time.monotonic() - started > 1,
        )
        elapsed = time.monotonic() - started
    assert result.cancelled and not result.ok
    assert elapsed < 1 + 0.5 + faultservers.SLACK


def test_a_cancel_before_a_deadline_is_made_aborts_it_too():
    progress = Progress()
    progress.cancel()
    with faultservers.ScriptedServer(faultservers.tarpit) as smtp:
        result = check_account(silent("smtp", smtp.port), timeout=BUDGET, progress=progress)
    assert result.outgoing.code == "check_cancelled"
