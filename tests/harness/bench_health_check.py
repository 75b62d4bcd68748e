"""Benchmark: the scheduled health check over N accounts against the harness's local servers.

Runs with Odoo's Python on a throwaway database where email_account is installed::

    ODOO_PYTHON tests/harness/bench_health_check.py --odoo-path ODOO_PATH --addons-path ADDONS \\
        -d DB --servers SERVERS_JSON [--accounts 500]

It creates N accounts (SMTP STARTTLS + IMAPS, all logging in as the harness's alice), then
1. baseline: checks them one after another, as action_check_connection did before the batch helper;
2. one cron run, through Odoo's own runner (``ir.cron._process_jobs``): the progress records it left
   show how many calls it made and whether all N accounts fitted in one run.
It prints both times and their ratio; the database is left as it is (drop it afterwards).
"""

import argparse
import json
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--odoo-path", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--servers", required=True, help="the harness's servers.json")
    parser.add_argument("--accounts", type=int, default=500)
    args = parser.parse_args()
    sys.path.insert(0, args.odoo_path)
    import odoo  # found through --odoo-path, hence imported here

    odoo.tools.config.parse_config(["--addons-path", args.addons_path, "-d", args.database, "--log-level=warn"])
    with open(args.servers, encoding="utf-8") as fh:
        servers = json.load(fh)
    registry = odoo.modules.registry.Registry(args.database)

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env["ir.config_parameter"].set_param("email_account.ca_file", servers["ca_file"])
        env["email.account"].with_context(active_test=False).search([]).unlink()
        alice, dovecot = servers["users"]["alice"], servers["dovecot"]["main"]
        accounts = env["email.account"].create(
            [
                {
                    "email": f"bench{index:04d}@example.test",
                    "login": alice["login"],
                    "password": alice["password"],
                    "smtp_host": servers["hostname"],
                    "smtp_security": "starttls",
                    "smtp_port": dovecot["submission"],
                    "incoming_host": servers["hostname"],
                    "incoming_port": dovecot["imaps"],
                }
                for index in range(args.accounts)
            ]
        )
        started = time.monotonic()
        serial_ok = sum(odoo.addons.email_account.mailcore.check_account(**a._check_arguments()).ok for a in accounts)
        serial = time.monotonic() - started
        # Only the health check is due, as in a database whose other jobs have run.
        cron = env.ref("email_account.email_account_cron_health_check")
        env["ir.cron"].search([("id", "!=", cron.id)]).write({"nextcall": "2999-01-01"})
        cron.write({"nextcall": odoo.fields.Datetime.now(), "lastcall": False})
        env["ir.cron.progress"].search([]).unlink()
        # The cron runner works on its own cursor: it must see the accounts.
        cr.commit()  # pylint: disable=invalid-commit

    started = time.monotonic()
    registry["ir.cron"]._process_jobs(args.database)
    one_run = time.monotonic() - started

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        progress = [(p.done, p.remaining) for p in env["ir.cron.progress"].search([], order="id")]
        checked = env["email.account"].search_count([("check_state", "!=", "never")])
        working = env["email.account"].search_count([("check_state", "=", "ok")])
    lines = [
        f"accounts: {args.accounts}",
        f"baseline, one after another: {serial:.1f} s ({serial_ok} working)",
        f"one cron run (Odoo runner): {one_run:.1f} s, {len(progress)} calls, (done, remaining) = {progress}",
        f"checked in that run: {checked}, working: {working}",
        f"ratio baseline / cron run: {serial / one_run:.2f}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
