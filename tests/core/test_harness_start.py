"""The harness waits for its servers' ports: a slow start passes, a stuck or dead server is named.

A loaded machine once made the OAuth server miss a fixed 20 s budget. Here small stand-in servers
(real processes, each given a bound socket to listen on when it is ready) show what the wait decides,
with START_TIMEOUT and START_LIMIT cut down to keep the tests short.
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "harness"))

from mailharness import processes  # found through the path just set
from mailharness.client import HarnessError

# The stand-in: says it is starting, burns CPU for BUSY seconds (a starved start still uses CPU),
# then listens, exits, or idles with the port still closed.
SERVER = """
import socket, sys, time
sock = socket.socket(fileno=int(sys.argv[1]))
print("starting", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    pass
if sys.argv[3] == "exit":
    print("cannot read my configuration", flush=True)
    sys.exit(3)
if sys.argv[3] == "listen":
    sock.listen()
time.sleep(60)
"""


class _Layout:
    """What wait_for_ports asks of a Layout: each server's ports."""

    def __init__(self, ports):
        self.ports = ports

    def server_ports(self):
        return self.ports


@pytest.fixture
def start_server(tmp_path, monkeypatch):
    monkeypatch.setattr(processes, "START_TIMEOUT", 1.0)
    monkeypatch.setattr(processes, "START_LIMIT", 3.0)
    started = []

    def start(busy, then):
        """Wait for a stand-in named "fake" that is busy for ``busy`` seconds, then does ``then``."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused until it listens
        log = tmp_path / "fake.log"
        with sock, open(log, "wb") as out:
            argv = [sys.executable, "-c", SERVER, str(sock.fileno()), str(busy), then]
            server = subprocess.Popen(argv, stdout=out, pass_fds=[sock.fileno()], start_new_session=True)
            started.append(server)
            entry = {"name": "fake", "pid": server.pid, "pgid": server.pid, "log": str(log)}
            begun = time.monotonic()
            try:
                processes.wait_for_ports(_Layout({"fake": {"fake port": sock.getsockname()[1]}}), [entry])
            finally:
                waited = time.monotonic() - begun
        return waited

    yield start
    for server in started:
        server.kill()
        server.wait()


def test_a_server_slower_than_the_timeout_but_busy_is_waited_for(start_server):
    assert start_server(busy=2.0, then="listen") > processes.START_TIMEOUT


def test_a_server_idle_with_its_port_closed_is_named_as_stuck(start_server):
    with pytest.raises(HarnessError) as caught:
        start_server(busy=0, then="idle")
    message = str(caught.value)
    assert message.startswith("fake (pid ") and "made no progress for 1s (stuck, not slow)" in message
    assert "fake port (" in message and "starting" in message  # its closed port and its log


def test_a_server_busy_without_end_is_stopped_at_the_limit(start_server):
    with pytest.raises(HarnessError, match=r"fake \(pid \d+\) still starting after 3s though busy all along"):
        start_server(busy=60, then="idle")


def test_a_server_that_exits_is_named_with_its_log(start_server):
    with pytest.raises(
        HarnessError, match=r"(?s)fake \(pid \d+\) exited during start-up.*cannot read my configuration"
    ):
        start_server(busy=0, then="exit")
