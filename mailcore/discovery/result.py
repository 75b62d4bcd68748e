"""What a discovery run found, and the plain words that say why it did not succeed."""

import dataclasses

from ..check import AccountResult
from ..errors import explain
from ..text import _lt, identity, render

# Why a source gave nothing: one line per source in the report.
SOURCE_REASON = _lt("%(source)s: %(reason)s")
NO_ANSWER = _lt("no answer in time")
BUNDLED = _lt("Thunderbird's provider database")
SIGN_IN_ONLY = _lt(
    "%(provider)s (found %(origin)s) accepts no password from mail programs, only a sign-in on its "
    "own page (OAuth2)."
)
OFFLINE = _lt(
    "This Odoo server cannot resolve names or reach the internet: no DNS server answered (%(servers)s). "
    "Check its network connection and DNS settings (/etc/resolv.conf, or the system parameter "
    "email_account.discovery_nameservers), for example with 'getent hosts %(domain)s' on the server, then retry."
)
OFFLINE_FOUND = _lt("The settings below were found %(origin)s but could not be checked.")
NO_DNS_SERVER = _lt("none configured")
# Failures of a check that only say a name could not be resolved.
_NAME_CODES = frozenset({"host_not_found", "dns_unavailable"})
# The settings a check depends on, besides the password discovery was given (and that it was a password).
_CHECKED = tuple(
    "protocol host port security login safe_logon auth_mechanism tls_policy pinned_fingerprint sender cafile "
    "auth".split()
)


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
    cancelled: bool = False  # stopped by its Progress before it decided
    dns_silent: bool = False  # DNS questions were asked and no DNS server ever answered
    nameservers: list = dataclasses.field(default_factory=list)  # the DNS servers asked

    @property
    def offline(self):
        """Nothing could be resolved: no DNS server answered discovery, and no check got further."""
        checked = [side for side in (self.check.outgoing, self.check.incoming) if side] if self.check else []
        if checked and all(side.code == "dns_unavailable" for side in checked):
            return True
        return self.dns_silent and all(side.code in _NAME_CODES for side in checked)

    @property
    def ok(self):
        if self.configuration is None or self.configuration.oauth_only:
            return False
        return not self.password_given or (self.check is not None and self.check.ok)

    @property
    def found(self):
        """The configuration the answer is about: the winner, else the best one found; None when nothing was."""
        return self.configuration or (self.candidates[0] if self.candidates else None)

    @property
    def oauth_provider(self):
        """The sign-in that serves this mailbox, "microsoft" or "google" (Odoo's ``microsoft_outlook``,
        ``google_gmail``), known from the bundled provider data for the address's domain or for the
        provider its MX records name (Microsoft 365, Google Workspace); None otherwise."""
        found = self.found
        return (found.sign_in or None) if found is not None else None

    @property
    def password_works(self):
        """Whether a password can still log in to this mailbox: False where only the sign-in does
        (Microsoft), True elsewhere, Google included (an app password; ``app_password_url`` says where)."""
        found = self.found
        return found is None or not found.oauth_only

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
        if self.offline:
            return self._offline_reason(gettext)
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

    def _offline_reason(self, gettext):
        """Said once instead of a failure per source and server, none of which is the real cause."""
        servers = ", ".join(self.nameservers) or render(NO_DNS_SERVER, {}, gettext)
        text = render(OFFLINE, {"servers": servers, "domain": self.domain}, gettext)
        if self.configuration is not None:
            origin = self.configuration.describe(gettext)
            text += "\n" + render(OFFLINE_FOUND, {"origin": origin}, gettext)
        return text
