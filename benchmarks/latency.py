#!/usr/bin/env python3
"""A network 50 ms away on loopback: a TCP proxy that holds each chunk for half the round-trip time.

This kernel has no ``netem``, so latency is added in user space, the same proxy in front of every
contender. Each chunk read from one side is written to the other side ``rtt / 2`` after it arrived,
in order; the upstream connection is opened 1.5 × ``rtt`` after the client's, which is when a real
server's ``accept`` returns (SYN out, SYN-ACK back, the client's ACK out), so a TCP handshake costs
what it costs on a real network. Bandwidth is not limited.

It also counts, per connection, the **round trips**: the TCP handshake, plus each time the server
starts to answer after the client spoke (or speaks first, as a greeting does): the turns of
direction a client waits for. Two writes of the client before the server's answer are one round
trip, which is what pipelining saves.

Standard library only: started by ``benchmarks/run.py`` in a process of its own (so its timers do
not wait for the measured process's GIL) and read by both the project's Python and Odoo's::

    proxy = LatencyProxy.start(rtt=0.05, upstreams=[("127.0.0.1", 1993), ...])
    proxy.ports[1993]        # the port to connect to instead
    proxy.take()             # the connections since the last take: [{"upstream": 1993, "round_trips": 5, ...}]
    proxy.stop()

``LatencyProxy(control_port)`` attaches to a running proxy from another process (``take`` only).
"""

import argparse
import asyncio
import collections
import contextlib
import json
import socket
import subprocess
import sys


class _Connection:
    def __init__(self, port, upstream):
        self.port, self.upstream = port, upstream
        self.round_trips = 1  # the TCP handshake
        self.sent = self.received = 0  # bytes client -> server, server -> client
        self.last = None
        self.open = True

    def note(self, direction, size):
        if direction == "up":
            self.sent += size
        else:
            self.received += size
            if self.last != "down":  # the server answers (or speaks first): one more round trip
                self.round_trips += 1
        self.last = direction

    def record(self):
        return {
            "port": self.port,
            "upstream": self.upstream,
            "round_trips": self.round_trips,
            "sent": self.sent,
            "received": self.received,
            "open": self.open,
        }


class _Proxy:
    def __init__(self, rtt, host):
        self.half = rtt / 2
        self.rtt = rtt
        self.host = host
        self.connections = []
        self.open_now = collections.Counter()  # connections open at once per upstream port, and their peak
        self.peak = collections.Counter()

    async def serve(self, upstreams):
        ports = {}
        for upstream in upstreams:
            server = await asyncio.start_server(
                lambda r, w, up=upstream: self._relay(r, w, up), "127.0.0.1", 0, reuse_address=True
            )
            ports[upstream] = server.sockets[0].getsockname()[1]
        control = await asyncio.start_server(self._control, "127.0.0.1", 0)
        return ports, control.sockets[0].getsockname()[1]

    async def _control(self, reader, writer):
        while line := await reader.readline():
            if line.strip() == b"peak":  # the most connections open at once per upstream since the last ask (_opened)
                writer.write(json.dumps(self.peak).encode() + b"\n")
                self.peak = collections.Counter(self.open_now)
                await writer.drain()
                continue
            # Each connection once: a client has had every answer it waited for when its call returns.
            taken, self.connections = [connection.record() for connection in self.connections], []
            writer.write(json.dumps(taken).encode() + b"\n")
            await writer.drain()
        writer.close()

    def _opened(self, upstream):
        """Counted as the server sees it: from its accept until the client's end of stream reaches it
        (the client's side of a connection lives longer by the time these take to cross the network,
        and would count a connection closed before the next one opened as open beside it)."""
        self.open_now[upstream] += 1
        self.peak[upstream] = max(self.peak[upstream], self.open_now[upstream])

    async def _relay(self, client_reader, client_writer, upstream):
        loop = asyncio.get_running_loop()
        connection = _Connection(client_writer.get_extra_info("sockname")[1], upstream)
        self.connections.append(connection)
        accepted = loop.time()
        up_queue, down_queue = collections.deque(), collections.deque()
        up_ready, down_ready = asyncio.Event(), asyncio.Event()
        client_reading = asyncio.ensure_future(self._read(client_reader, connection, "up", up_queue, up_ready))
        try:
            await asyncio.sleep(max(0.0, accepted + 1.5 * self.rtt - loop.time()))
            server_reader, server_writer = await asyncio.open_connection(self.host, upstream)
        except OSError:
            client_reading.cancel()
            client_writer.close()
            connection.open = False
            return
        self._opened(upstream)
        to_server = asyncio.ensure_future(self._write(server_writer, up_queue, up_ready))
        to_server.add_done_callback(lambda _task: self.open_now.subtract([upstream]))
        tasks = [
            client_reading,
            asyncio.ensure_future(self._read(server_reader, connection, "down", down_queue, down_ready)),
            to_server,
            asyncio.ensure_future(self._write(client_writer, down_queue, down_ready)),
        ]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        for writer in (client_writer, server_writer):
            writer.close()
        connection.open = False

    async def _read(self, reader, connection, direction, queue, ready):
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError):  # a reset ends this direction as an end of stream does
            while True:
                data = await reader.read(65536)
                due = loop.time() + self.half
                if not data:
                    break
                connection.note(direction, len(data))
                queue.append((due, data))
                ready.set()
        queue.append((loop.time() + self.half, None))
        ready.set()

    @staticmethod
    async def _write(writer, queue, ready):
        loop = asyncio.get_running_loop()
        while True:
            if not queue:
                ready.clear()
                await ready.wait()
                continue
            due, data = queue[0]
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.popleft()
            try:
                if data is None:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
            except OSError:
                return


class LatencyProxy:
    """A running proxy (started here, or attached to by its control port)."""

    def __init__(self, control_port, ports=None, process=None):
        self.control_port = control_port
        self.ports = ports or {}
        self.process = process
        self._control = None

    @classmethod
    def start(cls, rtt, upstreams, host="127.0.0.1"):
        ports = [str(port) for port in upstreams]
        process = subprocess.Popen(
            [sys.executable, __file__, "--rtt", str(rtt), "--host", host, *ports],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started = json.loads(process.stdout.readline())
        return cls(started["control"], {int(up): port for up, port in started["ports"].items()}, process)

    def take(self):
        """Every connection opened since the last take, as dicts (counts as of now)."""
        return self._ask(b"take")

    def peak(self):
        """{upstream port: the most connections open at once} since the last call."""
        return {int(port): count for port, count in self._ask(b"peak").items()}

    def _ask(self, command):
        if self._control is None:
            self._control = socket.create_connection(("127.0.0.1", self.control_port)).makefile("rwb")
        self._control.write(command + b"\n")
        self._control.flush()
        return json.loads(self._control.readline())

    def stop(self):
        if self._control is not None:
            self._control.close()
        if self.process is not None:
            self.process.stdin.close()  # the proxy ends when its stdin does
            self.process.wait(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt", type=float, default=0.05, help="round-trip time in seconds (default 0.05)")
    parser.add_argument("--host", default="127.0.0.1", help="where the upstream servers listen")
    parser.add_argument("upstreams", nargs="+", type=int, help="upstream ports to put behind the proxy")
    args = parser.parse_args()

    async def run():
        proxy = _Proxy(args.rtt, args.host)
        ports, control = await proxy.serve(args.upstreams)
        sys.stdout.write(json.dumps({"control": control, "ports": ports}) + "\n")
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the starter closes our stdin

    asyncio.run(run())


if __name__ == "__main__":
    main()
