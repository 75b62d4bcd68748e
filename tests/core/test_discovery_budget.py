"""One budget bounds the whole discovery, even when every DNS server or host swallows our packets.

(How fast it is when things answer is measured by benchmarks/discovery.py, not here.)
"""

import threading
import time

from discoveryenv import ALICE, guessing, options, silent_options, srv_zone
from dnsserver import Blackhole, DnsServer
from mailcore.discovery import discover
from mailcore.discovery.dns import TRY_SECONDS
from mailcore.discovery.guess import PATIENCE

BUDGET = 2.0
# Generous: the point is "returns at its budget, not at some socket's default timeout".
SLACK = 1.5


def _timed(*args, **kwargs):
    started = time.monotonic()
    result = discover(*args, **kwargs)
    return result, time.monotonic() - started


def test_a_dns_server_that_never_answers(servers):
    with DnsServer(blackhole=True) as dns:
        result, elapsed = _timed(ALICE, "pw", budget=BUDGET, options=options(dns, use_guess=True))
    assert elapsed < BUDGET + SLACK
    assert not result.ok and result.configuration is None
    # Said once, as what it is, instead of "no answer in time" from every source.
    assert result.reason().count("This Odoo server cannot resolve names or reach the internet") == 1
    assert "no answer in time" not in result.reason()
    assert len(dns.queries) >= 7  # SRV x6 and MX at least were asked, all at once


def test_hosts_that_accept_and_never_speak(servers):
    with Blackhole() as hole:
        zone = {
            ("_imaps._tcp.example.test", "SRV"): [f"0 1 {hole.port} localhost."],
            ("_submissions._tcp.example.test", "SRV"): [f"0 1 {hole.port} localhost."],
        }
        with DnsServer(zone, wildcard_a=("example.test",)) as dns:
            opts = silent_options(dns, hole)
            checked, checked_elapsed = _timed(ALICE, "pw", budget=BUDGET, options=opts)
            guessed, guessed_elapsed = _timed(ALICE, "pw", budget=BUDGET, options=opts.replace(use_srv=False))
    assert checked_elapsed < BUDGET + SLACK and guessed_elapsed < BUDGET + SLACK
    # SRV found something; its check could not finish: the best candidate is offered, not passed.
    assert not checked.ok and checked.configuration.source == "srv"
    assert "did not finish in time" in checked.reason()
    assert not guessed.ok and guessed.configuration is None
    assert "guessing: no answer in time" in guessed.reason()
    assert "Exchange Autodiscover of example.test: no answer in time" in guessed.reason()


def discovery_threads():
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("discovery")]


def test_no_thread_outlives_the_run(servers):
    """Silent hosts and checks still running when the run ends: discover() returns only once every
    job it started has ended (their deadlines aborted), so a request leaves no thread behind."""
    with Blackhole() as hole:
        zone = {
            ("_imaps._tcp.example.test", "SRV"): [f"0 1 {hole.port} localhost."],
            ("_submissions._tcp.example.test", "SRV"): [f"0 1 {hole.port} localhost."],
        }
        with DnsServer(zone, wildcard_a=("example.test",)) as dns:
            result, elapsed = _timed(ALICE, "pw", budget=BUDGET, options=silent_options(dns, hole))
            assert discovery_threads() == []
    assert elapsed < BUDGET + SLACK
    assert result.configuration.source == "srv"
    with guessing(servers, answering=("imap.", "smtp.")) as opts:
        result, elapsed = _timed(ALICE, budget=10, options=opts)  # a winner while 16 probes hang
        assert discovery_threads() == []
    assert elapsed < PATIENCE


def test_a_winner_does_not_wait_for_a_silent_dns_question(servers):
    """SRV finds and checks the winner while the DNS server swallows the MX question: the run ends
    then, and the MX question with it, rather than waiting for the question's time to run out."""
    with DnsServer(srv_zone(servers, "example.test"), blackhole=("MX",)) as dns:
        opts = options(dns, cafile=servers["ca_file"], use_autoconfig=False, use_autodiscover=False)
        result, elapsed = _timed(ALICE, servers["users"]["alice"]["password"], budget=10, options=opts)
        assert discovery_threads() == []
    assert result.ok and result.configuration.source == "srv", result.reason()
    assert ("example.test.", "MX") in dns.queries
    assert elapsed < TRY_SECONDS  # the silent question alone would have held it MAX_TRIES times as long


def test_guessing_ends_when_the_best_ranked_candidates_answer(servers):
    """imap. and smtp. answer; the 16 other probes are blackholed, but rank below them: no waiting."""
    with guessing(servers, answering=("imap.", "smtp.")) as opts:
        result, elapsed = _timed(ALICE, budget=10, options=opts)
    assert elapsed < PATIENCE  # the old lookup waited for every probe: the whole budget
    assert (result.incoming.host, result.outgoing.host) == ("imap.example.test", "smtp.example.test")


def test_guessing_gives_better_ranked_silent_candidates_a_bounded_wait(servers):
    """Only mail. answers; imap., smtp., pop3., pop. and the bare domain are blackholed and rank above it
    or beside it: they get PATIENCE seconds once both sides have an answer, not the whole budget."""
    with guessing(servers, answering=("mail.",)) as opts:
        result, elapsed = _timed(ALICE, budget=10, options=opts)
    assert PATIENCE <= elapsed < PATIENCE + SLACK
    assert (result.incoming.host, result.outgoing.host) == ("mail.example.test", "mail.example.test")
    assert result.incoming.protocol == "imap"
