"""The socket side of one server check: stages, timings, facts, and every low-level error triaged.

Protocol modules drive ``smtplib``/``imaplib``/``poplib`` over the sockets a Probe opens, so the same
code serves a one-off check and a long-lived connection that sends or fetches mail.
"""

import contextlib
import errno
import imaplib
import ipaddress
import logging
import poplib
import smtplib
import socket
import ssl
import time

from . import limits, tls, workers
from .deadline import Deadline, watchdog
from .errors import CheckFailure
from .mailbox import MailboxError
from .sanitize import sanitize

_logger = logging.getLogger(__name__)

_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}
_CLOSED = (
    ConnectionResetError,
    BrokenPipeError,
    EOFError,
    ssl.SSLEOFError,
    smtplib.SMTPServerDisconnected,
    imaplib.IMAP4.abort,
)
# How long a greeting may keep us waiting before we ask whether the port speaks TLS instead.
_SNIFF_AFTER = 2.0
# How often a wait for a name look-up (which cannot be interrupted) looks whether it was aborted.
_ABORT_POLL = 0.1


class Probe:
    def __init__(self, settings, deadline=None):
        self.settings = settings
        self.deadline = deadline or Deadline(10)
        self.facts = {}
        self.timings = {}
        self.stage = None
        self._stage_started = None
        self._sockets = []
        self._closers = []
        self._sniffer = None
        self.budget = limits.ByteBudget()
        # Set by a logged-in session: the deadline of each of its operations (see ``operation``).
        self.operation_seconds = None

    # -- stages -------------------------------------------------------------------------------
    def enter(self, stage):
        self.finish()
        self.stage = stage
        if self.deadline.progress is not None:
            self.deadline.progress.entered(self.settings, stage)
        if self.deadline.abort_reason:  # ended from outside: no new stage, no new socket
            raise self.fail(self.deadline.abort_reason)

    def finish(self):
        """Add the time spent in the current stage to its total."""
        now = time.monotonic()
        if self.stage is not None:
            self.timings[self.stage] = round(self.timings.get(self.stage, 0.0) + now - self._stage_started, 4)
        self._stage_started = now

    def params(self, **extra):
        params = {
            "host": self.settings.host,
            "port": self.settings.port,
            "protocol": self.settings.protocol.upper(),
            "login": self.settings.login,
            "sender": self.settings.sender,
            "stage": self.stage,
            "timeout": round(self.deadline.seconds, 1),
            "domain": _domain(self.settings),
        }
        params.update(extra)
        return params

    def fail(self, code, **extra):
        """A failure at the current stage; once the deadline or a probe has ended the dialogue, that
        is the reason, whatever the broken-off dialogue looked like. ``extra`` is what the server said."""
        if self.deadline.abort_reason:
            code = self.deadline.abort_reason
        elif self.deadline.passed:
            code = "timeout"
        return CheckFailure(code, self.stage, self.params(**self.sanitize(extra)))

    def sanitize(self, value):
        """Server text cleaned of control characters and of this server's password in any form."""
        return sanitize(value, self.settings.password.reveal(), self.settings.login)

    # -- operations of a logged-in session ------------------------------------------------------
    @contextlib.contextmanager
    def operation(self, stage, byte_limit=limits.DIALOGUE_BYTES):
        """One operation of a session (a message sent, the mailbox listed, a message fetched) under a
        deadline and byte budget of its own, so a trickling or flooding server cannot hold or fill
        it. Outside a session (a check) the check's own deadline and budget go on."""
        if self.operation_seconds is None:
            yield
            return
        sock = self._sockets[-1]
        read_timeout = sock.gettimeout()
        self.deadline = Deadline(self.operation_seconds)
        self.deadline.guard(sock)
        self.budget.reset(byte_limit)
        self.enter(stage)
        try:
            yield
        finally:
            self.finish()
            self.deadline.release()
            self.budget.reset(limits.DIALOGUE_BYTES)
            with contextlib.suppress(OSError):  # closed by the operation's failure
                sock.settimeout(read_timeout)

    # -- sockets ------------------------------------------------------------------------------
    def open_socket(self):
        """Resolve and connect within the deadline; wrap in TLS at once for implicit SSL."""
        self.enter("resolve")
        addresses = self._resolve()
        self.enter("connect")
        sock = self._connect(addresses)
        if self.settings.security == "ssl":
            sock = self.start_tls(sock)
            self.enter("greeting")
            return sock
        self.enter("greeting")
        self._arm_sniffer()
        return sock

    def _resolve(self):
        # getaddrinfo cannot be interrupted: run it aside and stop waiting at the deadline.
        lookup = workers.submit(
            socket.getaddrinfo, _connect_host(self.settings), self.settings.port, type=socket.SOCK_STREAM
        )
        try:
            addresses = self._wait_for(lookup)
        except TimeoutError:
            raise self.fail("timeout") from None
        except socket.gaierror as error:
            # EAI_AGAIN: no DNS server gave an answer, which says nothing about the name itself.
            code = "dns_unavailable" if error.errno == socket.EAI_AGAIN else "host_not_found"
            raise self.fail(code, reason=str(error)) from None
        except OSError as error:
            raise self.fail("host_not_found", reason=str(error)) from None
        if self.settings.allow_internal:
            return addresses
        reachable = [entry for entry in addresses if not is_internal(entry[4][0])]
        if not reachable:
            raise self.fail("internal_address", address=addresses[0][4][0])
        return reachable

    def _wait_for(self, lookup):
        """The look-up's outcome; TimeoutError at the deadline, or as soon as it is aborted."""
        while True:
            try:
                return lookup.result(min(self.deadline.remaining(), _ABORT_POLL))
            except TimeoutError:
                if lookup.done():  # the look-up's own error
                    raise
                if self.deadline.abort_reason or self.deadline.remaining() <= 0:
                    raise

    def _connect(self, addresses):
        last_error = None
        for family, kind, proto, _name, address in addresses:
            if self.deadline.abort_reason is not None:  # the answer is known already: no connection
                raise TimeoutError("aborted")
            sock = socket.socket(family, kind, proto)
            self._sockets.append(sock)
            self.deadline.guard(sock)
            try:
                sock.connect(address)
            except OSError as error:
                sock.close()
                last_error = error
                if self.deadline.remaining() <= 0:
                    break
                continue
            self.facts["address"] = address[0]
            return sock
        raise last_error or OSError("no address")

    def start_tls(self, sock):
        """Handshake on ``sock`` under the server's certificate policy; record what was agreed."""
        self.enter("tls")
        context = tls.make_context(self.settings)
        tls_sock = context.wrap_socket(sock, server_hostname=self.settings.host, do_handshake_on_connect=False)
        self._sockets.append(tls_sock)
        # Guard before the handshake: wrapping detached the guarded socket, and a silent TLS server
        # must not hold the handshake past the deadline.
        self.deadline.guard(tls_sock)
        tls_sock.do_handshake()
        self.facts.update(tls.session_facts(tls_sock))
        tls.check_pin(self.settings, tls_sock)
        if self.settings.tls_policy == "any":
            self.facts["certificate_checked"] = False
        return tls_sock

    def _arm_sniffer(self):
        when = time.monotonic() + min(_SNIFF_AFTER, self.deadline.remaining() / 3)
        self._sniffer = watchdog.call_at(when, lambda: workers.submit(self._sniff_tls))

    def greeted(self):
        """The server spoke first as a plain-text server should: stop wondering whether it wants TLS."""
        if self._sniffer is not None:
            watchdog.cancel(self._sniffer)
            self._sniffer = None

    def _sniff_tls(self):
        """No greeting yet: if a TLS handshake succeeds on the same port, the port wants implicit SSL."""
        address = (_connect_host(self.settings), self.settings.port)
        with contextlib.suppress(OSError, ValueError):
            with socket.create_connection(address, timeout=max(self.deadline.remaining(), 0.01)) as raw:
                with tls.unverified_context().wrap_socket(raw, server_hostname=self.settings.host):
                    self.deadline.abort("plain_on_tls_port")

    def reader(self, sock):
        """The file to read ``sock`` through, counted against the byte budget."""
        return self.bound(sock.makefile("rb"))

    def bound(self, file):
        return limits.BoundedReader(file, self.budget)

    def adopt(self, closer):
        """Close a protocol client with the probe: its file objects keep the socket's descriptor open."""
        self._closers.append(closer)

    def close(self):
        if self.deadline.progress is not None:
            self.deadline.progress.left(self.settings)
        self.greeted()
        self.deadline.release()
        for close in self._closers + [sock.close for sock in self._sockets]:
            with contextlib.suppress(OSError, AttributeError):  # AttributeError: closed before it opened
                close()
        self._closers.clear()
        self._sockets.clear()

    # -- errors -------------------------------------------------------------------------------
    def failure(self, error):
        """The documented failure behind any exception raised while talking to the server."""
        if self.deadline.abort_reason or self.deadline.passed or isinstance(error, TimeoutError):
            return self.fail("timeout")
        if isinstance(error, CheckFailure):
            error.stage = error.stage or self.stage
            error.params = self.params(**self.sanitize(error.params))
            return error
        if isinstance(error, limits.TooMuchData):
            return self.fail("protocol_error", reason=str(error))
        if self.stage == "tls" and isinstance(error, ssl.SSLError):
            failure = tls.classify(error, self.settings)
            failure.params = self.params(**self.sanitize(failure.params))
            return failure
        if isinstance(error, imaplib.IMAP4.abort) and "socket error" not in str(error):
            return self.fail("protocol_error", reason=_short(error))
        if isinstance(error, ConnectionRefusedError):
            return self.fail("connection_refused")
        if isinstance(error, _CLOSED):
            return self.fail("connection_closed")
        if isinstance(error, OSError) and error.errno in _UNREACHABLE:
            return self.fail("network_unreachable", reason=error.strerror)
        if isinstance(error, (smtplib.SMTPException, imaplib.IMAP4.error, poplib.error_proto, ValueError)):
            return self.fail("protocol_error", reason=_short(error))
        if isinstance(error, OSError):
            return self.fail("connection_closed")
        # Nothing a server sends may make a check raise: an error not foreseen above is a bug of
        # ours to fix from the log, and for the user a reply we could not make sense of.
        _logger.error("Unexpected error talking to %s:%s", self.settings.host, self.settings.port, exc_info=True)
        return self.fail("protocol_error", reason=type(error).__name__)


class SessionClient:
    """What the user of a logged-in client (Odoo's sending and fetching) may ask of it besides the
    protocol itself: why an operation failed, and to be dropped. The Probe behind it stays private."""

    def failure(self, error):
        """The documented failure (a ``CheckFailure``) behind an error of this session's dialogue,
        judged by the operation's own deadline: a refused mailbox command is ``mailbox_unavailable``."""
        if isinstance(error, MailboxError):
            return self._probe.fail("mailbox_unavailable", reason=str(error))
        return self._probe.failure(error)

    def drop(self):
        """Close the connection at once, without a goodbye (the session is over either way)."""
        self._probe.close()


class ProbeClient(SessionClient):
    """Mixin for ``imaplib``/``poplib`` clients, whose constructor connects through ``_create_socket``:
    here the Probe opens that socket, so the deadline, TLS policy and error triage apply."""

    _closer = "close"  # the client's method that closes its socket and file objects

    def __init__(self, probe):
        self._probe = probe
        settings = probe.settings
        super().__init__(settings.host, settings.port, timeout=max(probe.deadline.remaining(), 0.01))

    def _create_socket(self, timeout):
        self._probe.adopt(getattr(self, self._closer))
        return self._probe.open_socket()


def is_internal(address):
    """Whether an IP address belongs to this network rather than the internet (loopback, private,
    link-local, shared, reserved; an IPv4-mapped IPv6 address by its IPv4 form)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global


def _connect_host(settings):
    return settings.address or settings.host


def _domain(settings):
    address = settings.sender or settings.login
    return address.rpartition("@")[2] if "@" in address else settings.host.split(".", 1)[-1]


def _short(error):
    text = str(error)
    return text if len(text) <= 200 else text[:197] + "..."
