"""Checks of one server and of a whole account, returning plain result values.

A check never raises for a server's fault: every failure becomes a CheckResult with a stable code.
"""

import contextlib
import dataclasses

from . import imap, pop3, smtp, workers
from .deadline import Deadline
from .errors import CERTIFICATE_CODES, explain
from .probe import Probe
from .settings import DEFAULT_TIMEOUT

PROTOCOLS = {"smtp": smtp, "imap": imap, "pop3": pop3}


_USER_PARAMS = {"host", "port", "protocol", "login", "sender", "stage", "timeout", "domain"}


@dataclasses.dataclass
class CheckResult:
    protocol: str
    host: str
    port: int
    security: str
    ok: bool
    stage: str
    code: str = None
    params: dict = dataclasses.field(default_factory=dict)
    message: str = ""
    facts: dict = dataclasses.field(default_factory=dict)
    timings: dict = dataclasses.field(default_factory=dict)

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class AccountResult:
    outgoing: CheckResult = None
    incoming: CheckResult = None

    @property
    def ok(self):
        return all(result.ok for result in (self.outgoing, self.incoming) if result is not None)


def check_server(settings, timeout=DEFAULT_TIMEOUT, login_first=None, deadline=None):
    """Check one server. ``login_first``: incoming settings to log in to before SMTP (POP-before-SMTP)."""
    deadline = deadline or Deadline(timeout)
    if login_first is not None:
        return _check_after_login(settings, check_server(login_first, deadline=deadline), deadline)
    return _check(settings, deadline)


def logged_in_first(first):
    """Whether the login before sending (the CheckResult ``first``) opens the way to send: it passed,
    or the server refused it only because the mailbox was logged in to within its minimum delay
    (POP3 LOGIN-DELAY) — that recent login is what POP-before-SMTP servers go by."""
    return first.ok or first.code == "login_delay"


def _check_after_login(settings, first, deadline):
    """The check of ``settings`` once the login before sending has run; not attempted when it failed,
    which is then reported for this server (naming the incoming one in the message)."""
    if not logged_in_first(first):
        return CheckResult(
            **_server(settings),
            ok=False,
            stage="auth",
            code=first.code,
            params=dict(first.params),
            message=first.message,
            facts={"login_before_send": first.protocol},
        )
    return _check(settings, deadline, login_before_send=first.protocol)


def _check(settings, deadline, login_before_send=None):
    probe = Probe(settings, deadline)
    if login_before_send:
        probe.facts["login_before_send"] = login_before_send
    try:
        PROTOCOLS[settings.protocol].check(connect(probe), probe)
    except Exception as error:  # noqa: BLE001 - triaged by Probe.failure, which logs our own bugs
        failure = probe.failure(error)
        probe.close()
        if failure.code in CERTIFICATE_CODES:
            _add_certificate(probe, failure, deadline)
        return _result(probe, False, failure.stage, failure.code, failure.params)
    finally:
        probe.close()
    return _result(probe, True, "done")


def connect(probe):
    """A logged-in stdlib client (``smtplib.SMTP``, ``imaplib.IMAP4``, ``poplib.POP3``) over the probe."""
    module = PROTOCOLS[probe.settings.protocol]
    client = module.open_connection(probe)
    module.login(client, probe)
    return client


def check_account(outgoing=None, incoming=None, timeout=DEFAULT_TIMEOUT, login_before_send=False):
    """Check the outgoing and incoming servers concurrently, within one shared deadline."""
    seconds = float(timeout)
    result = AccountResult()
    if login_before_send and outgoing is not None and incoming is not None:
        # One login serves both: the incoming check is the login before sending. Two logins at once
        # would trip servers that allow one login a minute (Cyrus's default), at random.
        deadline = Deadline(seconds)
        result.incoming = check_server(incoming, deadline=deadline)
        result.outgoing = _check_after_login(outgoing, result.incoming, deadline)
        return result
    # The incoming check runs on a worker while this thread checks the outgoing server.
    incoming_job = workers.submit(check_server, incoming, seconds) if incoming is not None else None
    if outgoing is not None:
        result.outgoing = check_server(outgoing, seconds)
    if incoming_job is not None:
        result.incoming = incoming_job.result()
    return result


def _add_certificate(probe, failure, deadline):
    """A certificate was refused: fetch it without verification so the user can judge and pin it."""
    if "certificate" not in probe.facts:
        fetcher = Probe(probe.settings.replace(tls_policy="any"), Deadline(max(deadline.remaining(), 0.5)))
        # Facts are a bonus: the failure stands whether or not the certificate can be fetched.
        with contextlib.suppress(Exception):
            PROTOCOLS[probe.settings.protocol].open_connection(fetcher)
            probe.facts["certificate"] = fetcher.facts["certificate"]
        fetcher.close()
    certificate = probe.facts.get("certificate")
    if certificate:
        failure.params.setdefault("fingerprint", certificate["sha256"])
        failure.params.setdefault("subject", ", ".join(certificate["alt_names"]) or certificate["subject"])
        failure.params.setdefault("not_after", certificate["not_after"])


def _server(settings):
    """Which server a result is about."""
    return {"protocol": settings.protocol, "host": settings.host, "port": settings.port, "security": settings.security}


def _result(probe, ok, stage, code=None, params=None):
    probe.finish()
    settings = probe.settings
    # What the user typed is shown as typed; what the server said is sanitised, secrets masked.
    params = {key: value if key in _USER_PARAMS else probe.sanitize(value) for key, value in (params or {}).items()}
    return CheckResult(
        **_server(settings),
        ok=ok,
        stage=stage,
        code=code,
        params=params,
        message=explain(code, params) if code else "",
        facts=probe.sanitize(probe.facts),
        timings=dict(probe.timings),
    )
