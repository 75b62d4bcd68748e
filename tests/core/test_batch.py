"""Many accounts checked at once: every result returned under its key, concurrency bounded, budget kept."""

import select
import threading
import time

import faultservers
from accounts import settings_for
from mailcore import ServerSettings, check_many


def test_many_accounts_against_real_servers(servers):
    good = settings_for(servers, "imap", "ssl")
    wrong = settings_for(servers, "imap", "ssl", password="Wrong-password-1")
    jobs = [
        (index, {"outgoing": settings_for(servers, "smtp", "starttls"), "incoming": good if index % 3 else wrong})
        for index in range(12)
    ]
    results = check_many(jobs, concurrency=4, budget=60)
    assert sorted(results) == list(range(12))
    for index, result in results.items():
        assert result.outgoing.ok, result.outgoing.message
        if index % 3:
            assert result.ok, result.incoming.message
        else:
            assert not result.ok
            assert result.incoming.code == "auth_failed"


def _counting_tarpit():
    """A silent server that records the most connections its clients held open at once.

    Counted as each client arrives, from what the kernel knows of every connection (has its client
    hung up?), not from the handler threads: on a busy machine a handler may see its client's
    hang-up only after the next client arrived, which counted a finished check as still running.
    """
    held, state, lock = [], {"most": 0}, threading.Lock()

    def handler(conn, stopping):
        with lock:
            held.append(conn)
            held[:] = [client for client in held if _still_open(client)]
            state["most"] = max(state["most"], len(held))
        while conn.recv(1024):
            pass

    return handler, state


def _still_open(conn):
    """Whether the client has not hung up. POLLRDHUP says so even while the client's last bytes are
    still unread (a peek would find those bytes, not the end behind them)."""
    poller = select.poll()
    poller.register(conn, select.POLLRDHUP)
    return not poller.poll(0)  # also not open after a reset (POLLHUP, POLLERR)


def _tarpit_jobs(port, count, timeout):
    # Implicit TLS: the client speaks first (ClientHello), so one check holds exactly one connection.
    settings = ServerSettings("imap", "127.0.0.1", port, "ssl", "alice", "pw")
    return [(index, {"incoming": settings, "timeout": timeout}) for index in range(count)]


def test_concurrency_is_bounded():
    handler, state = _counting_tarpit()
    with faultservers.ScriptedServer(handler) as server:
        results = check_many(_tarpit_jobs(server.port, 9, timeout=0.5), concurrency=3)
    assert state["most"] == 3
    assert {result.incoming.code for result in results.values()} == {"timeout"}


def test_budget_bounds_the_whole_batch():
    """Six silent servers, two at a time, 10 s each, but 1 s for all: two time out, four never start."""
    started = time.monotonic()
    with faultservers.ScriptedServer(faultservers.tarpit) as server:
        results = check_many(_tarpit_jobs(server.port, 6, timeout=10), concurrency=2, budget=1)
    elapsed = time.monotonic() - started
    checked = [result for result in results.values() if result is not None]
    assert len(checked) == 2
    assert {result.incoming.code for result in checked} == {"timeout"}
    assert list(results.values()).count(None) == 4
    assert elapsed < 2 + faultservers.SLACK  # the budget, plus the in-flight checks winding down


def test_no_jobs():
    assert check_many([], budget=1) == {}
