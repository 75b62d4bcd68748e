"""The benchmark rows that need Odoo, each in its own process so its peak memory is its own.

Run with Odoo's Python on a throwaway database where email_account is installed (``make bench``
creates and drops one)::

    ODOO_PYTHON benchmarks/odoo_rows.py --odoo-path ODOO_PATH --addons-path ADDONS -d DB \\
        --servers SERVERS_JSON MODE [options]

Modes:
  account-check  this addon's check (``action_check_connection``) vs stock Odoo's two test buttons
                 (``ir.mail_server.test_smtp_connection`` + ``fetchmail.server.button_confirm_login``) and
                 the bare-stdlib floor, interleaved; with ``--silent-port``, also ours against a silent server
  stock-silent   stock's two buttons against a silent server (the caller caps the time)
  batch          the scheduled health check over N accounts in one cron run (Odoo's runner);
                 ``--serial`` first checks them one after another, as a baseline
  fetch          Odoo's fetch cron over an N-message mailbox (IMAP or POP3, keep copies on), twice
  remote-check   through the latency proxy (``--proxy-control``): ours (*Check connection*) vs stock's two
                 buttons, ``--variant`` imap, pop3 or pop-before-smtp, interleaved, with each call's round trips
  fetch-race     ``fetchmail.server.fetch_mail`` over an N-message mailbox, ``--contender`` ours or stock (a
                 database with only ``mail`` installed), called until everything is imported; the copies
                 policy is stock's (IMAP keeps them, POP3 deletes them)

The last line of stdout is ``RESULT {json}``, including ``peak_rss_mb`` (this process's high-water
mark). Every mode removes the accounts and incoming servers left by an earlier mode first.
"""

import argparse
import collections
import imaplib
import json
import os
import resource
import ssl
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from floor import bare_check
from latency import LatencyProxy
from odoo_db import odoo_environment

# How often stock's fetch_mail may be called before the row gives up (it imports all it can per call).
FETCH_CALLS_CAP = 60


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--odoo-path", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--servers", required=True, help="the harness's servers.json")
    parser.add_argument("--instance", default="plainonly", help="the harness Dovecot to check against")
    parser.add_argument(
        "mode", choices=("account-check", "stock-silent", "batch", "fetch", "remote-check", "fetch-race")
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--silent-port", type=int, help="a port that accepts and never answers")
    parser.add_argument("--silent-runs", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--serial", action="store_true", help="batch: also check one after another first")
    parser.add_argument("--protocol", choices=("imap", "pop3"), default="imap")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--proxy-control", type=int, help="remote-check: the latency proxy's control port")
    parser.add_argument("--variant", choices=("imap", "pop3", "pop-before-smtp"), default="imap")
    parser.add_argument("--contender", choices=("ours", "stock"), default="ours")
    args = parser.parse_args()
    odoo, registry, servers = odoo_environment(args)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env["ir.config_parameter"].set_param("email_account.ca_file", servers["ca_file"])
        if "email.account" in env:  # not in the stock database of fetch-race
            env["email.account"].with_context(active_test=False).search([]).unlink()
        env["fetchmail.server"].with_context(active_test=False).search([]).unlink()
        cr.commit()  # pylint: disable=invalid-commit
    bench = Bench(odoo, registry, args.database, servers, args)
    result = getattr(bench, args.mode.replace("-", "_"))()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


def rss_mb():
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Bench:
    def __init__(self, odoo, registry, database, servers, args):
        self.odoo, self.registry, self.database, self.servers, self.args = odoo, registry, database, servers, args
        self.user = servers["users"]["bob"]  # an ASCII password: stock's imaplib/smtplib logins need one
        self.ports = servers["dovecot"][args.instance]
        self.host = servers["hostname"]

    def env(self, cr):
        return self.odoo.api.Environment(cr, self.odoo.SUPERUSER_ID, {})

    def account_values(self, smtp_port, incoming_port, **values):
        return {
            "email": self.user["email"],
            "login": self.user["login"],
            "password": self.user["password"],
            "smtp_host": self.host,
            "smtp_security": "starttls",
            "smtp_port": smtp_port,
            "incoming_host": self.host,
            "incoming_protocol": "imap",
            "incoming_security": "ssl",
            "incoming_port": incoming_port,
            **values,
        }

    def stock_servers(self, env, smtp_port, imaps_port, server_type="imap"):
        """A plain ir.mail_server and fetchmail.server, linked to no account: stock behaviour."""
        mail_server = env["ir.mail_server"].create(
            {
                "name": "stock smtp",
                "smtp_host": self.host,
                "smtp_port": smtp_port,
                "smtp_encryption": "starttls",
                "smtp_authentication": "login",
                "smtp_user": self.user["login"],
                "smtp_pass": self.user["password"],
                "from_filter": self.user["email"],
                "sequence": 999,
            }
        )
        fetch_server = env["fetchmail.server"].create(
            {
                "name": f"stock {server_type}",
                "server_type": server_type,
                "server": self.host,
                "port": imaps_port,
                "is_ssl": True,
                "user": self.user["login"],
                "password": self.user["password"],
            }
        )
        return mail_server, fetch_server

    @staticmethod
    def stock_check(mail_server, fetch_server):
        """Stock's two buttons back to back, each pressed whatever the other said; True when both succeed.

        In 18.0 a successful SMTP test returns a success notification and a failed one raises UserError;
        a successful login sets the incoming server's state to 'done'.
        """
        UserError = sys.modules["odoo.exceptions"].UserError

        def press(button):
            try:
                button()
            except UserError:
                return False
            return True

        smtp_ok = press(mail_server.test_smtp_connection)
        imap_ok = press(fetch_server.button_confirm_login) and fetch_server.state == "done"
        return smtp_ok and imap_ok

    def account_check(self):
        """Row 1 (ours vs stock), row 3 (ours in Odoo vs the floor) and our side of row 2.

        ``ours`` is the button (check, then record the outcome on the account); ``core`` is the same
        check without the ORM around it (mailcore.check_account with the account's arguments).
        """
        times = {"ours": [], "core": [], "stock": [], "floor": [], "floor_concurrent": []}
        ok = dict.fromkeys(times, 0)
        with self.registry.cursor() as cr:
            env = self.env(cr)
            account = env["email.account"].create(self.account_values(self.ports["submission"], self.ports["imaps"]))
            mail_server, fetch_server = self.stock_servers(env, self.ports["submission"], self.ports["imaps"])

            def ours():
                account.action_check_connection()
                return account.check_state == "ok"

            def floor(concurrent):
                bare_check(
                    self.host,
                    self.ports["submission"],
                    self.ports["imaps"],
                    self.user["login"],
                    self.user["password"],
                    self.user["email"],
                    self.servers["ca_file"],
                    concurrent=concurrent,
                )
                return True

            def core():
                return self.odoo.addons.email_account.models.email_account_check.run_check(account).ok

            contenders = {
                "ours": ours,
                "core": core,
                "stock": lambda: self.stock_check(mail_server, fetch_server),
                "floor": lambda: floor(False),
                "floor_concurrent": lambda: floor(True),
            }
            names = list(contenders)
            for run in range(self.args.runs):
                for name in names[run % len(names) :] + names[: run % len(names)]:  # rotate who goes first
                    started = time.perf_counter()
                    ok[name] += bool(contenders[name]())
                    times[name].append(time.perf_counter() - started)
            result = {
                "runs": self.args.runs,
                "median": {name: statistics.median(values) for name, values in times.items()},
                "ok": ok,
                "stock_mail_from": mail_server._get_test_email_from(),
                "stock_rcpt_to": mail_server._get_test_email_to(),
            }
            if self.args.silent_port:
                silent = env["email.account"].create(
                    self.account_values(
                        self.args.silent_port, self.args.silent_port, email="silent@example.test", login="silent"
                    )
                )
                runs = []
                for _run in range(self.args.silent_runs):
                    started = time.perf_counter()
                    silent.action_check_connection()
                    runs.append(time.perf_counter() - started)
                result["silent"] = {
                    "median": statistics.median(runs),
                    "budget": silent.timeout,
                    "state": silent.check_state,
                    "message": silent.last_check_message,
                }
            cr.rollback()
        return result

    def stock_silent(self):
        with self.registry.cursor() as cr:
            mail_server, fetch_server = self.stock_servers(self.env(cr), self.args.silent_port, self.args.silent_port)
            started = time.perf_counter()
            ok = self.stock_check(mail_server, fetch_server)
            elapsed = time.perf_counter() - started
            cr.rollback()
        return {"seconds": elapsed, "ok": ok}

    def batch(self):
        """Row 5: one cron run over N accounts (SMTP STARTTLS + IMAPS each), through Odoo's own runner."""
        odoo = self.odoo
        with self.registry.cursor() as cr:
            env = self.env(cr)
            accounts = env["email.account"].create(
                [
                    self.account_values(self.ports["submission"], self.ports["imaps"], email=f"b{i:04d}@example.test")
                    for i in range(self.args.accounts)
                ]
            )
            result = {"accounts": self.args.accounts}
            if self.args.serial:
                started = time.perf_counter()
                checks = [odoo.addons.email_account.models.email_account_check.run_check(a) for a in accounts]
                result["serial_seconds"] = time.perf_counter() - started
                result["serial_working"] = sum(check.ok for check in checks)
            # Only the health check is due, as in a database whose other jobs have run.
            cron = env.ref("email_account.email_account_cron_health_check")
            env["ir.cron"].search([("id", "!=", cron.id)]).write({"nextcall": "2999-01-01"})
            cron.write({"nextcall": odoo.fields.Datetime.now(), "lastcall": False})
            env["ir.cron.progress"].search([]).unlink()
            cr.commit()  # pylint: disable=invalid-commit  # the cron runner works on its own cursor
        rss_before = rss_mb()
        started = time.perf_counter()
        self.registry["ir.cron"]._process_jobs(self.database)
        result["cron_seconds"] = time.perf_counter() - started
        with self.registry.cursor() as cr:
            env = self.env(cr)
            result["calls"] = [(p.done, p.remaining) for p in env["ir.cron.progress"].search([], order="id")]
            result["checked"] = env["email.account"].search_count([("check_state", "!=", "never")])
            result["working"] = env["email.account"].search_count([("check_state", "=", "ok")])
        result["rss_before_mb"] = rss_before
        return result

    def fetch(self):
        """Row 6: fill the main Dovecot's INBOX, then Odoo's fetch cron twice, keep copies on."""
        service = {"imap": "imaps", "pop3": "pop3s"}[self.args.protocol]
        ports = self.servers["dovecot"]["main"]
        with self.registry.cursor() as cr:
            env = self.env(cr)
            partner = env["res.partner"].create({"name": "Customer"})
            thread_id = partner.message_post(body="Our offer", message_type="comment").message_id  # pylint: disable=translation-required
            account = env["email.account"].create(
                self.account_values(
                    ports["submission"],
                    ports[service],
                    use_for_sending=False,
                    incoming_protocol=self.args.protocol,
                    keep_copies=True,
                )
            )
            cr.commit()  # pylint: disable=invalid-commit  # the fetch commits after each message
            account_id, partner_id = account.id, partner.id
        size = self.fill_mailbox(ports["imaps"], thread_id)
        fetch_mails = self.registry["fetchmail.server"]._fetch_mails
        rss_before = rss_mb()
        timings = []
        for _run in range(2):
            with self.registry.cursor() as cr:
                started = time.perf_counter()
                fetch_mails(self.env(cr)["fetchmail.server"])
                timings.append(time.perf_counter() - started)
                cr.commit()  # pylint: disable=invalid-commit
        with self.registry.cursor() as cr:
            env = self.env(cr)
            account = env["email.account"].browse(account_id)
            imported = env["mail.message"].search_count(
                [("model", "=", "res.partner"), ("res_id", "=", partner_id), ("message_type", "=", "email")]
            )
            result = {
                "protocol": self.args.protocol,
                "messages": self.args.messages,
                "message_bytes": size,
                "first_seconds": timings[0],
                "second_seconds": timings[1],
                "imported": imported,
                "imported_count": account.imported_count,
                "error": account.last_fetch_error or "",
                "rss_before_mb": rss_before,
            }
        return result

    def remote_check(self):
        """Rows at a distance: ours vs stock through the latency proxy, and the round trips of each call.

        The servers file is the proxied one (its ports are the proxy's); round trips are read from the
        proxy after each call, per connection, labelled with the service the port stands for.
        """
        proxy = LatencyProxy(self.args.proxy_control)
        services = {port: name for name, port in self.ports.items() if isinstance(port, int)}
        variant = self.args.variant
        protocol, service = ("imap", "imaps") if variant == "imap" else ("pop3", "pop3s")
        times, ok, trips = {"ours": [], "stock": []}, {"ours": 0, "stock": 0}, {"ours": [], "stock": []}
        with self.registry.cursor() as cr:
            env = self.env(cr)
            account = env["email.account"].create(
                self.account_values(
                    self.ports["submission"],
                    self.ports[service],
                    incoming_protocol=protocol,
                    smtp_login_before_send=variant == "pop-before-smtp",
                )
            )
            mail_server, fetch_server = self.stock_servers(
                env, self.ports["submission"], self.ports[service], "imap" if protocol == "imap" else "pop"
            )

            def ours():
                account.action_check_connection()
                return account.check_state == "ok"

            contenders = {"ours": ours, "stock": lambda: self.stock_check(mail_server, fetch_server)}
            names = list(contenders)
            for run in range(self.args.runs):
                for name in names[run % len(names) :] + names[: run % len(names)]:
                    proxy.take()  # forget whatever came before this call
                    started = time.perf_counter()
                    ok[name] += bool(contenders[name]())
                    times[name].append(time.perf_counter() - started)
                    trips[name].append(
                        tuple(
                            (services.get(c["port"], str(c["port"])), c["round_trips"])
                            for c in sorted(proxy.take(), key=lambda c: c["port"])
                        )
                    )
            check = self.odoo.addons.email_account.models.email_account_check.run_check(account)
            profile = {"SMTP": check.outgoing.timings, protocol.upper(): check.incoming.timings}
            cr.rollback()
        return {
            "profile": profile,
            "variant": variant,
            "runs": self.args.runs,
            "median": {name: statistics.median(values) for name, values in times.items()},
            "ok": ok,
            # The connections and round trips most calls took (they vary only when a call failed).
            "round_trips": {name: collections.Counter(calls).most_common(1)[0][0] for name, calls in trips.items()},
        }

    def fetch_race(self):
        """``fetch_mail`` over a full mailbox, ours or stock, until every message is imported."""
        protocol, contender = self.args.protocol, self.args.contender
        service = {"imap": "imaps", "pop3": "pop3s"}[protocol]
        ports = self.servers["dovecot"]["main"]
        with self.registry.cursor() as cr:
            env = self.env(cr)
            partner = env["res.partner"].create({"name": "Customer"})
            thread_id = partner.message_post(body="Our offer", message_type="comment").message_id  # pylint: disable=translation-required
            if contender == "ours":
                # Stock's copies policy, so both do the same work: IMAP keeps the messages, POP3 deletes them.
                account = env["email.account"].create(
                    self.account_values(
                        ports["submission"],
                        ports[service],
                        use_for_sending=False,
                        incoming_protocol=protocol,
                        keep_copies=protocol == "imap",
                    )
                )
                server_id = account.fetchmail_server_id.id
            else:
                server_id = (
                    env["fetchmail.server"]
                    .create(
                        {
                            "name": f"stock {protocol}",
                            "server_type": "imap" if protocol == "imap" else "pop",
                            "server": self.host,
                            "port": ports[service],
                            "is_ssl": True,
                            "user": self.user["login"],
                            "password": self.user["password"],
                            "state": "done",
                        }
                    )
                    .id
                )
            cr.commit()  # pylint: disable=invalid-commit  # the fetch commits after each message
            partner_id = partner.id
        size = self.fill_mailbox(self.servers.get("unproxied", ports)["imaps"], thread_id)
        domain = [("model", "=", "res.partner"), ("res_id", "=", partner_id), ("message_type", "=", "email")]
        proxy = LatencyProxy(self.args.proxy_control) if self.args.proxy_control else None
        if proxy:
            proxy.take()
        rss_before = rss_mb()
        calls, imported, started = 0, 0, time.perf_counter()
        while imported < self.args.messages and calls < FETCH_CALLS_CAP:
            with self.registry.cursor() as cr:
                env = self.env(cr)
                env["fetchmail.server"].browse(server_id).fetch_mail(raise_exception=False)
                cr.commit()  # pylint: disable=invalid-commit
                calls += 1
                before, imported = imported, env["mail.message"].search_count(domain)
            if imported == before:
                break  # nothing more came in: the row says how far it got
        seconds = time.perf_counter() - started
        # The fetch's own peak, before anything below reads the imported messages.
        fetch_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        connections = proxy.take() if proxy else None
        with self.registry.cursor() as cr:
            [(distinct,)] = self.env(cr)["mail.message"]._read_group(domain, [], ["message_id:count_distinct"])
        return {
            "protocol": protocol,
            "contender": contender,
            "messages": self.args.messages,
            "message_bytes": size,
            "seconds": seconds,
            "calls": calls,
            "imported": imported,
            "distinct": distinct,
            "rss_before_mb": rss_before,
            "fetch_peak_rss_mb": fetch_peak,
            "sessions": len(connections) if connections is not None else None,
            "round_trips": sum(c["round_trips"] for c in connections) if connections else None,
        }

    def fill_mailbox(self, imaps_port, thread_id):
        """Empty the INBOX and append the messages over IMAP (not timed); returns one message's size."""
        context = ssl.create_default_context(cafile=self.servers["ca_file"])
        body = ("x" * 76 + "\r\n") * 256  # about 20 kB, as tests/test_mail_fetching.py
        size = 0
        with imaplib.IMAP4_SSL(self.host, imaps_port, ssl_context=context) as client:
            client.login(self.user["login"], self.user["password"])
            _status, count = client.select("INBOX")
            if int(count[0]):
                client.store("1:*", "+FLAGS", "\\Deleted")
                client.expunge()
            for number in range(self.args.messages):
                message = (
                    "From: Customer <customer@example.test>\r\n"
                    f"To: {self.user['email']}\r\n"
                    f"Subject: Re: offer, part {number}\r\n"
                    f"Message-Id: <bench-{number}-{uuid.uuid4().hex}@example.test>\r\n"
                    f"In-Reply-To: {thread_id}\r\n\r\n{body}"
                ).encode()
                size = len(message)
                client.append("INBOX", None, None, message)
        return size


if __name__ == "__main__":
    main()
