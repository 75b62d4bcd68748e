"""The base of the tests' own threaded servers on loopback (fault, DNS, HTTPS servers, relays).

``with Server(...) as server`` (or ``start()`` / ``stop()``) runs one; ``server.port`` is where it
listens. Every thread a server starts goes through ``_spawn``, so ``stop`` returns only once they have
all ended (or ``JOIN_TIMEOUT`` passed): no test leaves a thread behind to disturb the next one.
"""

import contextlib
import socket
import threading
import time

# How long stop() waits for the server's threads; a handler blocked longer is the test's bug.
JOIN_TIMEOUT = 5.0


class LoopbackServer:
    """Subclasses set ``port`` and define ``_serve`` (run in a thread from ``start``) and ``_close``
    (make ``_serve`` and every handler return)."""

    port = None

    def __init__(self):
        self._threads = []
        self._threads_lock = threading.Lock()

    def start(self):
        self._spawn(self._serve)
        return self

    def stop(self):
        self._close()
        deadline = time.monotonic() + JOIN_TIMEOUT
        # The serving thread first: once it has ended, no thread is added.
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._threads_lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._threads_lock:
            self._threads.append(thread)
        thread.start()

    def _serve(self):
        raise NotImplementedError

    def _close(self):
        raise NotImplementedError


class TcpServer(LoopbackServer):
    """Accepts TCP connections and runs ``handle(conn)`` in a thread for each (none when it is not
    overridden); stop closes the listener and every connection."""

    def __init__(self, host="127.0.0.1", port=0, listen=True):
        super().__init__()
        self.host = host
        self.listener = None
        self.connections = []
        if listen:
            self.listen(port)

    def listen(self, port):
        # create_server reuses a port left in TIME_WAIT; a backlog for the clients a test opens at once.
        self.listener = socket.create_server((self.host, port), backlog=64)
        self.port = self.listener.getsockname()[1]

    def handle(self, conn):
        """Talk to one client; None: accept and keep the connection open, say nothing."""

    def _serve(self):
        while True:
            try:
                conn, _address = self.listener.accept()
            except OSError:  # the listener was shut down or closed
                return
            self.connections.append(conn)
            if type(self).handle is not TcpServer.handle:
                self._spawn(self._handle, conn)

    def _handle(self, conn):
        with contextlib.suppress(OSError):
            self.handle(conn)

    def _close(self):
        if self.listener is not None:
            # shutdown() wakes the blocked accept() (close alone would not), so the port is free at once.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class SocketServerThread(LoopbackServer):
    """Runs a ``socketserver`` server (UDP or HTTP), its request threads spawned like any other."""

    def __init__(self, server):
        super().__init__()
        self.server = server
        self.server.process_request = self._process_request
        self.port = server.server_address[1]

    def _process_request(self, request, client_address):
        self._spawn(self.server.process_request_thread, request, client_address)

    def _serve(self):
        self.server.serve_forever(0.05)

    def _close(self):
        self.server.shutdown()
        self.server.server_close()
