"""All sources at once under one budget; the best-ranked configuration that passes the check wins.

One run owns one bounded pool. Every look-up and every check is a job of it that never waits for
another job: a source that asks several things at once (SRV's six names, guessing's probes,
Autodiscover's three places, a check's two sides) hands its jobs to the run and collects their
outcomes as they come. Only the run's own thread waits, on one queue. A configuration wins as soon
as nothing still running could outrank it: without a password the best found one, with a password
the best one whose check passed. Then every deadline the run handed out is aborted, and the run
waits for its jobs to end (each is bounded by the budget), so no thread outlives the request.
"""

import concurrent.futures
import functools
import itertools
import logging
import queue
import threading
import time

from ..check import AccountResult
from ..deadline import Deadline
from ..text import Text, _lt
from . import autoconfig, autodiscover, guess, mx, providers, srv, verify
from .config import SourceError, base_domain, split_address, within
from .dns import LookupTimeout, Resolver
from .jobs import capture
from .options import DEFAULT_BUDGET, DiscoveryOptions
from .result import BUNDLED, NO_ANSWER, SOURCE_REASON, DiscoveryResult

_logger = logging.getLogger(__name__)
# How much of the budget the other sources get before guessing starts anyway.
_GUESS_AFTER = 0.5
# The most jobs of one run at the same time: guessing's 20 probes, the other sources' look-ups and
# the checks of what they find fit; more would wait for a free thread, within the same budget.
POOL_SIZE = 32
# What a configuration lacks, by the sides it lacks.
MISSING = {
    frozenset({"incoming"}): _lt("%(origin)s: no incoming server"),
    frozenset({"outgoing"}): _lt("%(origin)s: no outgoing server"),
    frozenset({"incoming", "outgoing"}): _lt("%(origin)s: no incoming and no outgoing server"),
}


def discover(email, password=None, budget=DEFAULT_BUDGET, options=None, sides=("incoming", "outgoing"), progress=None):
    """Find (and, given a password, check) the settings of ``email`` within ``budget`` seconds.
    ``progress``: a mailcore.progress.Progress that hears which servers are checked and may cancel."""
    run = _Run(email, password, float(budget), options or DiscoveryOptions(), sides, progress)
    return run.result()


class _Single:
    """A source that is one job: its outcome is the source's."""

    def __init__(self, call):
        self.calls = [call]

    @staticmethod
    def collect(_index, outcome):
        return outcome


class _Run:
    def __init__(self, email, password, budget, options, sides, progress=None):
        self.email = email.strip()
        self.local, self.domain = split_address(self.email)
        self.password = password
        self.options = options
        self.sides = sides
        self.started = time.monotonic()
        self.progress = progress
        self.deadline = Deadline(budget, progress)
        self.resolver = Resolver(options.nameservers, options.dns_port)
        self.events = queue.Queue()
        self.pool = concurrent.futures.ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="discovery")
        self.deadlines = []  # every deadline handed out, aborted when the run ends
        self.deadlines_lock = threading.Lock()  # checks ask for deadlines from the pool's threads
        self.ended = False
        self.tokens = itertools.count()
        self.waiting = {}  # job token -> what to do with its outcome (in this thread)
        self.pending = {}  # source name -> best rank it could still produce
        self.timers = {}  # source name -> the lookup that wants a wake-up (guessing's patience)
        self.found = []
        self.checks = {}  # id(configuration) -> (AccountResult, chosen servers), or None while running
        self.reasons = []
        self.guessing = False
        if progress is not None:
            progress.on_cancel(lambda: self.events.put(("cancel",)))

    # -- jobs -----------------------------------------------------------------------------------
    def _new_deadline(self):
        """A deadline of its own for one job or attempt (aborting it stops only that one), within the
        budget; one asked for once the run has ended is aborted from the start."""
        deadline = Deadline(self.deadline.remaining(), self.progress)
        with self.deadlines_lock:
            self.deadlines.append(deadline)
            if self.ended:
                deadline.abort("timeout")
        return deadline

    def _submit(self, call, then):
        """Run ``call`` in the pool; ``then(outcome)`` runs later in this thread, never in the pool's."""
        token = next(self.tokens)
        self.waiting[token] = then
        future = self.pool.submit(capture, call)
        future.add_done_callback(lambda done: self.events.put(("job", token, done.result())))

    def _start(self, name, rank, lookup):
        """Start a source: each of the lookup's calls is a job; the lookup says when the source is done."""
        self.pending[name] = rank
        if hasattr(lookup, "tick"):
            self.timers[name] = lookup
        for index, call in enumerate(lookup.calls):
            self._submit(call, functools.partial(self._collected, name, lookup, index))

    def _collected(self, name, lookup, index, outcome):
        if name not in self.pending:
            return  # decided already
        decided = lookup.collect(index, outcome)
        if decided is not None:
            self._source_done(name, decided)

    def _source_done(self, name, outcome):
        self.pending.pop(name, None)
        self.timers.pop(name, None)
        try:
            configuration = outcome.get()
            reason = None if configuration else Text(_lt("nothing found"))
            if isinstance(configuration, Text):
                configuration, reason = None, configuration
        except LookupTimeout:
            configuration, reason = None, Text(NO_ANSWER)
        except SourceError as error:
            configuration, reason = None, error.text
        except Exception as error:  # a stranger's data or network: logged and reported, never raised
            _logger.error("discovery source %s failed", name, exc_info=error)
            configuration, reason = None, Text(_lt("failed unexpectedly"))
        if reason:
            self.reasons.append(Text(SOURCE_REASON, source=name, reason=reason))
        self._found(configuration)

    # -- sources --------------------------------------------------------------------------------
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
        options, email, resolver = self.options, self.email, self.resolver
        extra = {"via_mx": via_mx, "mx_of": self.domain} if via_mx else {}
        if options.use_autoconfig and not via_mx:
            name = Text(_lt("the autoconfig document of %(domain)s"), domain=domain)
            call = functools.partial(autoconfig.from_domain, email, domain, resolver, self._new_deadline(), options)
            self._start(name, (rank, 1), _Single(call))
        if options.use_ispdb and options.ispdb_url:
            name = Text(_lt("Thunderbird's online provider database for %(domain)s"), domain=domain)
            call = functools.partial(
                autoconfig.from_ispdb, email, domain, resolver, self._new_deadline(), options, **extra
            )
            self._start(name, (rank, 2), _Single(call))
        if options.use_srv:
            name = Text(_lt("the DNS SRV records of %(domain)s"), domain=domain)
            lookup = srv.Lookup(email, domain, resolver, self._new_deadline, options.cafile, **extra)
            self._start(name, (rank, 3), lookup)
        if options.use_autodiscover and not via_mx:
            name = Text(_lt("Exchange Autodiscover of %(domain)s"), domain=domain)
            lookup = autodiscover.Lookup(email, self.password, domain, resolver, self._new_deadline, options)
            self._start(name, (rank, 4), lookup)
            if options.autodiscover_v2_url:
                call = functools.partial(
                    autodiscover.microsoft_365, email, domain, resolver, self._new_deadline(), options
                )
                self._start(Text(_lt("Microsoft 365 Autodiscover")), (rank, 4), _Single(call))

    def _mx(self, deadline):
        """The bundled provider that hosts the domain's mail, by its best MX host; else the MX host's
        base domain is handed to the network sources."""
        host = mx.best_host(self.domain, self.resolver, deadline)
        base = base_domain(host)
        if within(base, self.domain):
            return Text(_lt("the mail exchanger %(host)s is in the domain itself"), host=host)
        if self.options.use_providers:
            configuration = providers.hosted(self.email, host, self.domain, self.options.cafile)
            if configuration is not None:
                return configuration
        self.events.put(("mx", host, base))
        return Text(_lt("looked up %(domain)s, the domain of the mail exchanger %(host)s"), domain=base, host=host)

    def _start_guessing(self):
        self.guessing = True
        options = self.options
        lookup = guess.Lookup(self.email, self.domain, self.resolver, self._new_deadline, options, options.cafile)
        self._start(Text(_lt("guessing")), (2, 0), lookup)

    # -- found configurations and their checks -----------------------------------------------
    def _found(self, configuration):
        if configuration is None:
            return
        configuration = self._mail_ports_only(configuration)
        missing = [side for side in self.sides if not getattr(configuration, side)]
        if missing:
            self.reasons.append(Text(MISSING[frozenset(missing)], origin=configuration.describe))
            return
        self.found.append(configuration)
        self.found.sort(key=lambda item: item.rank)
        if self.password is not None and not configuration.oauth_only:  # no password check can pass
            self.checks[id(configuration)] = None
            self._check(configuration)

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

    def _check(self, configuration):
        """Both sides checked at once, each a job; the configuration's verdict when both are in."""
        sides = {}
        for side in self.sides:
            call = functools.partial(
                verify.check_side,
                getattr(configuration, side),
                self.password,
                self.domain,
                self.resolver,
                self._new_deadline,
                self.options.allow_internal,
            )
            self._submit(call, functools.partial(self._side_checked, configuration, sides, side))

    def _side_checked(self, configuration, sides, side, outcome):
        if outcome.error is not None:  # check_server never raises: this is a bug of ours, for the log
            _logger.error("checking %s failed", configuration.describe(), exc_info=outcome.error)
            return  # the configuration stays unchecked
        sides[side] = outcome.value
        if len(sides) < len(self.sides):
            return
        results = {name: result for name, (result, _server) in sides.items()}
        if self.deadline.passed and any(result.code == "timeout" for result in results.values()):
            return  # cut by the end of the budget: unfinished, not failed
        chosen = {name: server for name, (_result, server) in sides.items()}
        self.checks[id(configuration)] = (AccountResult(**results), chosen)

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
        try:
            return self._finish(self._decide())
        finally:
            with self.deadlines_lock:
                self.ended = True
                for deadline in self.deadlines:  # whatever still runs ends now, not at the end of the budget
                    deadline.abort("timeout")
            self.pool.shutdown(wait=True, cancel_futures=True)  # no thread outlives the request

    def _decide(self):
        options = self.options
        self._start_bundled()
        if self.found and self.password is None:
            return self.found[0]  # bundled data: no network at all
        self._start_network(self.domain)
        if options.use_mx:
            name = Text(_lt("the MX records of %(domain)s"), domain=self.domain)
            self._start(name, (1, 0), _Single(functools.partial(self._mx, self._new_deadline())))
        guess_at = self.started + self.deadline.seconds * _GUESS_AFTER
        winner = self._winner()
        while winner is None and self.deadline.remaining() > 0 and not self.deadline.abort_reason:
            may_guess = options.use_guess and not self.guessing and not self.found
            if may_guess and (time.monotonic() >= guess_at or not self.pending):
                self._start_guessing()
                may_guess = False
            if not self.pending and not self.waiting:
                break
            self._wait(guess_at if may_guess else None)
            winner = self._winner()
        return winner or self._winner(final=True)

    def _wait(self, guess_at):
        """Handle the next event, or wake up for guessing or a source's timer, within the budget."""
        wake = [self.deadline.end, *(lookup.wake_at for lookup in self.timers.values() if lookup.wake_at)]
        if guess_at is not None:
            wake.append(guess_at)
        try:
            event = self.events.get(timeout=max(0.0, min(wake) - time.monotonic()))
        except queue.Empty:
            now = time.monotonic()
            for name, lookup in list(self.timers.items()):
                if lookup.wake_at and lookup.wake_at <= now:
                    self._source_done(name, lookup.tick())
            return
        if event[0] == "cancel":
            return  # the loop sees the aborted deadline
        if event[0] == "job":
            _kind, token, outcome = event
            self.waiting.pop(token)(outcome)
        elif event[0] == "mx":
            _kind, _host, base = event
            self._start_network(base, via_mx=event[1])

    def _finish(self, winner):
        result = DiscoveryResult(
            self.email,
            self.domain,
            self.password is not None,
            candidates=list(self.found),
            reasons=self.reasons,
            dns_silent=self.resolver.silent,
            cancelled=bool(self.progress and self.progress.cancelled),
            nameservers=self.resolver.server_names() if self.resolver.silent else [],
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
