"""All sources at once under one budget; the best-ranked configuration that passes the check wins.

Sources report into one queue. A configuration wins as soon as nothing still running could
outrank it: without a password the best found one, with a password the best one whose check
passed. Everything else is then abandoned: running checks are aborted, look-ups run out on their
own deadlines (never beyond the budget) and their answers are ignored.
"""

import concurrent.futures
import dataclasses
import logging
import queue
import time

from ..check import AccountResult, CheckResult, check_server
from ..deadline import Deadline
from ..errors import explain
from ..text import Text, _lt, identity, render
from . import autoconfig, autodiscover, guess, mx, providers, srv
from .config import SourceError, base_domain, split_address, within
from .dns import LookupTimeout, Resolver
from .options import DEFAULT_BUDGET, DiscoveryOptions

_logger = logging.getLogger(__name__)
# How much of the budget the other sources get before guessing starts anyway.
_GUESS_AFTER = 0.5
# Why a source gave nothing: one line per source in the report.
SOURCE_REASON = _lt("%(source)s: %(reason)s")
NO_ANSWER = _lt("no answer in time")
BUNDLED = _lt("Thunderbird's provider database")
SIGN_IN_ONLY = _lt(
    "%(provider)s (found %(origin)s) accepts no password from mail programs, only a sign-in with its "
    "own page (OAuth2), which this addon does not offer yet."
)
# What a configuration lacks, by the sides it lacks.
MISSING = {
    frozenset({"incoming"}): _lt("%(origin)s: no incoming server"),
    frozenset({"outgoing"}): _lt("%(origin)s: no outgoing server"),
    frozenset({"incoming", "outgoing"}): _lt("%(origin)s: no incoming and no outgoing server"),
}
# The settings a check depends on, besides the password discovery was given.
_CHECKED = tuple(
    "protocol host port security login safe_logon auth_mechanism tls_policy pinned_fingerprint sender cafile".split()
)
# Why an unencrypted server found by discovery was not checked.
UNENCRYPTED_REASON = "not tried: the password would be sent unencrypted"


@dataclasses.dataclass
class DiscoveryResult:
    email: str
    domain: str
    password_given: bool = False
    configuration: object = None  # the winning Configuration
    incoming: object = None  # its ServerSettings to use (the one that passed, when checked)
    outgoing: object = None
    check: AccountResult = None  # the winner's check; None when no password was given
    candidates: list = dataclasses.field(default_factory=list)  # every configuration found, best first
    reasons: list = dataclasses.field(default_factory=list)  # why sources gave nothing, as Text
    elapsed: float = 0.0

    @property
    def ok(self):
        if self.configuration is None or self.configuration.oauth_only:
            return False
        return not self.password_given or (self.check is not None and self.check.ok)

    def check_of(self, outgoing, incoming):
        """The winner's passed check when ``outgoing`` and ``incoming`` (ServerSettings, None for a side
        not in use) are what it checked, so the caller need not log in to each server again; else None."""
        if not self.ok or self.check is None:
            return None
        sides = ((outgoing, self.outgoing, self.check.outgoing), (incoming, self.incoming, self.check.incoming))
        for wanted, found, result in sides:
            if (wanted is None) != (result is None):
                return None
            if wanted is not None and any(getattr(wanted, name) != getattr(found, name) for name in _CHECKED):
                return None
        return self.check

    def reason(self, gettext=identity):
        """Why discovery did not succeed, for the user (``gettext`` translates it): a sentence, then
        one line per source that gave nothing."""
        if self.ok:
            return ""
        lines = "\n".join("• " + reason.render(gettext) for reason in self.reasons)
        if self.configuration is not None and self.configuration.oauth_only:
            origin = self.configuration.describe(gettext)
            return render(SIGN_IN_ONLY, {"provider": self.configuration.provider, "origin": origin}, gettext)
        if self.configuration is not None and self.check is None:
            origin = self.configuration.describe(gettext)
            return render(
                _lt("The check of the settings found %(origin)s did not finish in time."), {"origin": origin}, gettext
            )
        if self.configuration is not None:
            failed = [side for side in (self.check.outgoing, self.check.incoming) if side is not None and not side.ok]
            return render(
                _lt("The settings found %(origin)s failed the check: %(problems)s"),
                {
                    "origin": self.configuration.describe(gettext),
                    "problems": " ".join(explain(side.code, side.params, gettext) for side in failed),
                },
                gettext,
            )
        if self.candidates:
            return render(
                _lt("The settings found %(origin)s failed the check.\n%(reasons)s"),
                {"origin": self.candidates[0].describe(gettext), "reasons": lines},
                gettext,
            )
        return render(_lt("Nothing was found:\n%(reasons)s"), {"reasons": lines}, gettext)


def _not_checked(server, domain, stage, code, **extra):
    """The failed check of a server that was not attempted, for the reason ``code``."""
    params = {"host": server.host, "port": server.port, "protocol": server.protocol.upper(), "domain": domain}
    params.update(extra)
    return CheckResult(
        server.protocol,
        server.host,
        server.port,
        server.security,
        ok=False,
        stage=stage,
        code=code,
        params=params,
        message=explain(code, params),
    )


def _not_found(server, domain):
    """The check of a server our DNS servers have no address for."""
    return _not_checked(server, domain, "resolve", "host_not_found")


def _unencrypted(server, domain):
    """Discovery never sends the password unencrypted: such a server is offered for the manual path,
    where the user decides, not checked."""
    return _not_checked(server, domain, "tls", "starttls_unsupported", reason=UNENCRYPTED_REASON)


def discover(email, password=None, budget=DEFAULT_BUDGET, options=None, sides=("incoming", "outgoing")):
    """Find (and, given a password, check) the settings of ``email`` within ``budget`` seconds."""
    run = _Run(email, password, float(budget), options or DiscoveryOptions(), sides)
    return run.result()


class _Run:
    def __init__(self, email, password, budget, options, sides):
        self.email = email.strip()
        self.local, self.domain = split_address(self.email)
        self.password = password
        self.options = options
        self.sides = sides
        self.started = time.monotonic()
        self.deadline = Deadline(budget)
        self.resolver = Resolver(options.nameservers, options.dns_port)
        self.events = queue.Queue()
        self.pool = concurrent.futures.ThreadPoolExecutor(32, thread_name_prefix="discovery")
        self.pending = {}  # task name -> best rank it could still produce
        self.found = []
        self.checks = {}  # id(configuration) -> AccountResult, or None while running
        self.check_deadlines = []
        self.reasons = []
        self.guessing = False

    # -- tasks --------------------------------------------------------------------------------
    def _start(self, name, rank, function, *args):
        self.pending[name] = rank
        self.pool.submit(self._task, name, function, *args)

    def _task(self, name, function, *args):
        try:
            configuration = function(*args)
            reason = None if configuration else Text(_lt("nothing found"))
            if isinstance(configuration, Text):
                configuration, reason = None, configuration
        except LookupTimeout:
            configuration, reason = None, Text(NO_ANSWER)
        except SourceError as error:
            configuration, reason = None, error.text
        except Exception:  # a stranger's data or network: logged and reported, never raised
            _logger.exception("discovery source %s failed", name)
            configuration, reason = None, Text(_lt("failed unexpectedly"))
        self.events.put(("done", name, configuration, reason))

    def _sub_deadline(self):
        return Deadline(self.deadline.remaining())

    def _start_bundled(self):
        if not self.options.use_providers:
            return
        configuration = providers.lookup(self.email, self.domain, self.options.cafile)
        self._found(configuration)
        if configuration is None:
            nothing = Text(_lt("nothing for %(domain)s"), domain=self.domain)
            self.reasons.append(Text(SOURCE_REASON, source=Text(BUNDLED), reason=nothing))

    def _start_network(self, domain, via_mx=""):
        """The network sources for ``domain``: the address's own, or (``via_mx``) its MX host's base domain."""
        rank = 1 if via_mx else 0
        options = self.options
        extra = {"via_mx": via_mx, "mx_of": self.domain} if via_mx else {}
        if options.use_autoconfig and not via_mx:
            name = Text(_lt("the autoconfig document of %(domain)s"), domain=domain)
            self._start(name, (rank, 1), self._autoconfig, domain)
        if options.use_ispdb and options.ispdb_url:
            name = Text(_lt("Thunderbird's online provider database for %(domain)s"), domain=domain)
            self._start(name, (rank, 2), self._ispdb, domain, extra)
        if options.use_srv:
            name = Text(_lt("the DNS SRV records of %(domain)s"), domain=domain)
            self._start(name, (rank, 3), self._srv, domain, extra)
        if options.use_autodiscover and not via_mx:
            name = Text(_lt("Exchange Autodiscover of %(domain)s"), domain=domain)
            self._start(name, (rank, 4), self._autodiscover, domain)
            if options.autodiscover_v2_url:
                self._start(Text(_lt("Microsoft 365 Autodiscover")), (rank, 4), self._microsoft_365, domain)

    def _autoconfig(self, domain):
        return autoconfig.from_domain(self.email, domain, self.resolver, self._sub_deadline(), self.options)

    def _ispdb(self, domain, extra):
        return autoconfig.from_ispdb(self.email, domain, self.resolver, self._sub_deadline(), self.options, **extra)

    def _srv(self, domain, extra):
        return srv.lookup(self.email, domain, self.resolver, self._sub_deadline(), self.options.cafile, **extra)

    def _autodiscover(self, domain):
        deadline = self._sub_deadline()
        return autodiscover.lookup(self.email, self.password, domain, self.resolver, deadline, self.options)

    def _microsoft_365(self, domain):
        return autodiscover.microsoft_365(self.email, domain, self.resolver, self._sub_deadline(), self.options)

    def _mx(self):
        """The bundled provider that hosts the domain's mail, by its best MX host; else the MX host's
        base domain is handed to the network sources."""
        host = mx.best_host(self.domain, self.resolver, self._sub_deadline())
        base = base_domain(host)
        if within(base, self.domain):
            return Text(_lt("the mail exchanger %(host)s is in the domain itself"), host=host)
        if self.options.use_providers:
            configuration = providers.hosted(self.email, host, self.domain, self.options.cafile)
            if configuration is not None:
                return configuration
        self.events.put(("mx", host, base))
        return Text(_lt("looked up %(domain)s, the domain of the mail exchanger %(host)s"), domain=base, host=host)

    def _guess(self):
        return guess.lookup(
            self.email, self.domain, self.resolver, self._sub_deadline(), self.options, self.options.cafile
        )

    # -- found configurations and their checks -----------------------------------------------
    def _found(self, configuration):
        if configuration is None:
            return
        configuration = self._mail_ports_only(configuration)
        if not self._complete(configuration):
            missing = MISSING[frozenset(self._missing(configuration))]
            self.reasons.append(Text(missing, origin=configuration.describe))
            return
        self.found.append(configuration)
        self.found.sort(key=lambda item: item.rank)
        if self.password is not None and not configuration.oauth_only:  # no password check can pass
            self.checks[id(configuration)] = None
            self.pool.submit(self._check, configuration)

    def _mail_ports_only(self, configuration):
        allowed = self.options.port_allowed
        ignored = [s for s in configuration.incoming + configuration.outgoing if not allowed(s.port)]
        if not ignored:
            return configuration
        names = ", ".join(f"{s.host}:{s.port}" for s in ignored)
        self.reasons.append(
            Text(
                _lt("%(origin)s: ignored %(servers)s, not on a mail port"), origin=configuration.describe, servers=names
            )
        )
        return configuration.replace(
            incoming=tuple(s for s in configuration.incoming if allowed(s.port)),
            outgoing=tuple(s for s in configuration.outgoing if allowed(s.port)),
        )

    def _missing(self, configuration):
        return [side for side in self.sides if not getattr(configuration, side)]

    def _complete(self, configuration):
        return not self._missing(configuration)

    def _check(self, configuration):
        """Check each side's alternatives in order until one passes (a wrong password stops early)."""
        results, chosen = {}, {}
        *others, last = self.sides
        futures = {side: self.pool.submit(self._check_side, configuration, side) for side in others}
        results[last], chosen[last] = self._check_side(configuration, last)
        for side, future in futures.items():
            results[side], chosen[side] = future.result()
        if self.deadline.passed and any(result.code == "timeout" for result in results.values()):
            return  # cut by the end of the budget: unfinished, not failed (whichever thread wakes first)
        self.events.put(("checked", configuration, AccountResult(**results), chosen))

    def _check_side(self, configuration, side):
        result = None
        for server in getattr(configuration, side):
            if server.security == "none":
                result = result or _unencrypted(server, self.domain)
                continue
            deadline = self._sub_deadline()
            self.check_deadlines.append(deadline)
            settings = server.replace(password=self.password)
            try:
                address = self.resolver.address(server.host, deadline)
            except LookupTimeout:
                address = ""
            if address == "":  # our DNS servers do not know it: the system's must not be asked instead
                continue
            result = check_server(settings.replace(address=address or ""), deadline=deadline)
            if result.ok or result.code == "auth_failed" or self.deadline.remaining() <= 0:
                return result, server
        first = getattr(configuration, side)[0]
        return result or _not_found(first, self.domain), first

    # -- deciding -------------------------------------------------------------------------------
    def _winner(self, final=False):
        """The configuration that can no longer be beaten (or, at the end, the best there is)."""
        for configuration in self.found:
            blockers = [rank for rank in self.pending.values() if rank < configuration.rank]
            if configuration.oauth_only:
                continue  # a candidate for the sign-in path, offered at the end when nothing else is
            if self.password is None:
                return configuration if final or not blockers else None
            result = self.checks.get(id(configuration))
            if result is not None and result[0].ok:
                return configuration if final or not blockers else None
            if result is None and not final:
                return None
        return None

    def result(self):
        options = self.options
        self._start_bundled()
        if self.found and self.password is None:
            return self._finish(self.found[0])  # bundled data: no network at all
        self._start_network(self.domain)
        if options.use_mx:
            self._start(Text(_lt("the MX records of %(domain)s"), domain=self.domain), (1, 0), self._mx)
        guess_at = self.started + self.deadline.seconds * _GUESS_AFTER
        winner = self._winner()
        while winner is None and self.deadline.remaining() > 0:
            may_guess = options.use_guess and not self.guessing and not self.found
            if may_guess and (time.monotonic() >= guess_at or not self.pending):
                self.guessing = may_guess = True
                self._start(Text(_lt("guessing")), (2, 0), self._guess)
            if not self.pending and all(value is not None for value in self.checks.values()):
                break
            wait = self.deadline.remaining()
            if may_guess and not self.guessing:
                wait = min(wait, max(0.0, guess_at - time.monotonic()))
            try:
                event = self.events.get(timeout=wait)
            except queue.Empty:
                continue
            self._handle(event)
            winner = self._winner()
        winner = winner or self._winner(final=True)
        return self._finish(winner)

    def _handle(self, event):
        kind = event[0]
        if kind == "done":
            _kind, name, configuration, reason = event
            self.pending.pop(name, None)
            if reason:
                self.reasons.append(Text(SOURCE_REASON, source=name, reason=reason))
            self._found(configuration)
        elif kind == "mx":
            _kind, host, base = event
            self._start_network(base, via_mx=host)
        elif kind == "checked":
            _kind, configuration, account, chosen = event
            self.checks[id(configuration)] = (account, chosen)

    def _finish(self, winner):
        for deadline in self.check_deadlines:
            deadline.abort("timeout")
        self.pool.shutdown(wait=False, cancel_futures=True)
        result = DiscoveryResult(
            self.email, self.domain, self.password is not None, candidates=list(self.found), reasons=self.reasons
        )
        chosen = winner or (self.found[0] if self.found else None)
        if chosen is not None:
            checked = self.checks.get(id(chosen))
            result.configuration = chosen
            result.incoming = chosen.incoming[0] if chosen.incoming else None
            result.outgoing = chosen.outgoing[0] if chosen.outgoing else None
            if checked is not None:
                result.check = checked[0]
                result.incoming = checked[1].get("incoming", result.incoming)
                result.outgoing = checked[1].get("outgoing", result.outgoing)
        self.reasons.extend(Text(SOURCE_REASON, source=name, reason=Text(NO_ANSWER)) for name in self.pending)
        if self.deadline.remaining() <= 0:
            self.reasons.append(Text(_lt("the %(seconds)s s budget ran out"), seconds=f"{self.deadline.seconds:g}"))
        result.elapsed = round(time.monotonic() - self.started, 3)
        return result
