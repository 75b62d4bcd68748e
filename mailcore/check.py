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


def check_server(settings, timeout=DEFAULT_TIMEOUT, login_first=None, deadline=None, progress=None):
    """Check one server. ``login_first``: incoming settings to log in to before SMTP (POP-before-SMTP).
    ``progress``: a mailcore.progress.Progress to report to and be cancelled by."""
    deadline = deadline or Deadline(timeout, progress)
    if login_first is not None:
        return _check(settings, deadline, _login_beside(login_first, deadline))
    return _check(settings, deadline)


def _login_beside(settings, deadline):
    """The check of ``settings`` on a worker, as a future: the login before sending, run while this
    thread connects to the outgoing server. A deadline of its own (one deadline watches one socket),
    ending when ``deadline`` does."""
    return workers.submit(check_server, settings, deadline=Deadline(deadline.remaining(), deadline.progress))


def logged_in_first(first):
    """Whether the login before sending (the CheckResult ``first``) opens the way to send: it passed,
    or the server refused it only because the mailbox was logged in to within its minimum delay
    (POP3 LOGIN-DELAY) — that recent login is what POP-before-SMTP servers go by."""
    return first.ok or first.code == "login_delay"


def _refused_before_send(settings, first):
    """The failed login before sending, reported for ``settings`` (naming the incoming server)."""
    return CheckResult(
        **_server(settings),
        ok=False,
        stage="auth",
        code=first.code,
        params=dict(first.params),
        message=first.message,
        facts={"login_before_send": first.protocol},
    )


def _check(settings, deadline, first=None):
    """``first``: the future of the login before sending. Meanwhile this server is connected to and
    logged in to; it is asked to accept mail, the one step that login authorises, only once the login
    passed: the two dialogues' round trips overlap instead of adding up. A failed login is reported
    for this server, before anything this server said, as it comes first."""
    probe = Probe(settings, deadline)
    try:
        client = connect(probe)
        if first is not None:
            if not logged_in_first(first.result()):
                return _refused_before_send(settings, first.result())
            probe.facts["login_before_send"] = first.result().protocol
        PROTOCOLS[settings.protocol].check(client, probe)
    except Exception as error:  # noqa: BLE001 - triaged by Probe.failure, which logs our own bugs
        failure = probe.failure(error)
        probe.close()
        if first is not None and not logged_in_first(first.result()):
            return _refused_before_send(settings, first.result())
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


def check_account(outgoing=None, incoming=None, timeout=DEFAULT_TIMEOUT, login_before_send=False, progress=None):
    """Check the outgoing and incoming servers concurrently, within one shared deadline; ``progress``
    (mailcore.progress.Progress) hears where they are and may cancel them."""
    seconds = float(timeout)
    result = AccountResult()
    if login_before_send and outgoing is not None and incoming is not None:
        # One login serves both: the incoming check is the login before sending. Two logins at once
        # would trip servers that allow one login a minute (Cyrus's default), at random.
        deadline = Deadline(seconds, progress)
        incoming_job = _login_beside(incoming, deadline)
        result.outgoing = _check(outgoing, deadline, incoming_job)
        result.incoming = incoming_job.result()
        return result
    # The incoming check runs on a worker while this thread checks the outgoing server.
    incoming_job = workers.submit(check_server, incoming, seconds, progress=progress) if incoming is not None else None
    if outgoing is not None:
        result.outgoing = check_server(outgoing, seconds, progress=progress)
    if incoming_job is not None:
        result.incoming = incoming_job.result()
    return result


def _add_certificate(probe, failure, deadline):
    """A certificate was refused: fetch it without verification so the user can judge and pin it."""
    if "certificate" not in probe.facts:
        fetch_deadline = Deadline(max(deadline.remaining(), 0.5), deadline.progress)
        fetcher = Probe(probe.settings.replace(tls_policy="any"), fetch_deadline)
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
