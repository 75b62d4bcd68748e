"""The queue_job row of ``make bench``: one full fetch round of many mailboxes through OCA queue_job
with 1, 2 and 4 job runners, and the same round through today's cron, behind the latency proxy; and a
worker killed in the middle of a fetch, whose message is then imported once.

The orchestration (``run``) runs in the project's venv; the Odoo side is this same file run with
Odoo's Python (``queue_round.py --odoo-path ... MODE``). Mailboxes are Dovecot users added to the
harness's passwd-file, a few messages each written straight into their Maildir (as a delivery
would), every message a reply to one thread so that Odoo routes it. Each round runs on a fresh copy
of one template database, so each imports the same messages. "N runners" is an Odoo server with
``--workers N`` and the channels ``root:N,root.email_account:N``: N jobs at once.
"""

# pylint: disable=print-used  # a command-line tool: the RESULT line is its output
import argparse
import contextlib
import importlib.util
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import cpu  # beside this file, for both Pythons

PASSWORD = "bench-secret"
MAILBOXES = 2000  # the row's default size (run.py --mailboxes)
ROUND_CAP = 3600  # seconds one round may take before the row gives up on it
DOMAIN = [("state", "=", "done"), ("server_type", "!=", "local")]


# ----------------------------------------------------------------------------- orchestration


def run(odoo, servers, rtt, mailboxes, messages, runners=(1, 2, 4), kill_messages=300, saved_to=os.devnull):
    """The row's results: {"rounds": [...], "kill": {...}, ...}. ``odoo`` is a benchmarks.odoo_db.Odoo;
    the results so far are written to ``saved_to`` after each round."""
    load = os.getloadavg()[0]
    from latency import LatencyProxy  # the project's venv: the orchestration side only

    addons = os.environ.get("QUEUE_JOB_ADDONS")
    if not addons:
        return {"skipped": "OCA queue_job is not set up (QUEUE_JOB_ADDONS): run through benchmarks/run.sh"}
    side = OdooSide(odoo, addons, servers)
    upstream = servers["dovecot"]["main"]["imaps"]
    proxy = LatencyProxy.start(rtt=rtt, upstreams=[upstream]) if rtt else None
    port = proxy.ports[upstream] if proxy else upstream
    try:
        side.install()
        thread = side.call(side.template, "setup", "--count", mailboxes, "--prefix", "q", "--port", port)["thread"]
        add_mailboxes(servers, "q", mailboxes, messages, thread)
        results = {"mailboxes": mailboxes, "messages_each": messages, "rtt_ms": rtt * 1000, "rounds": []}
        # The scaling factor's two ends first, then today's cron, then the runner counts between on half
        # the mailboxes (their rate is what compares; a full round one mailbox after another is about
        # half an hour at 50 ms). Each round is saved as it ends: a run cut short still has its table.
        plan = [(1, None), (max(runners), None), ("cron", None), *((n, mailboxes // 2) for n in runners[1:-1])]
        for variant, only in plan:
            results["rounds"].append(side.round(variant, proxy, upstream, mailboxes=only))
            save(results, load, saved_to)
        # The per-host limit at work: the most runners, half as many connection slots to the host, on
        # the first tenth of the mailboxes (at least 100): the peak it shows needs no full round.
        limited = min(mailboxes, max(100, mailboxes // 10))
        host_limit = max(1, max(runners) // 2)
        results["rounds"].append(side.round(max(runners), proxy, upstream, host_limit=host_limit, mailboxes=limited))
        save(results, load, saved_to)
        results["kill"] = side.kill(port, thread, kill_messages)
        return save(results, load, saved_to)
    finally:
        if proxy:
            proxy.stop()
        side.drop()


def save(results, load, path):
    """Write the results so far to ``path`` (JSON); they are returned."""
    results["load"] = (load, os.getloadavg()[0])
    results["ended"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    return results


def add_mailboxes(servers, prefix, count, messages, thread, start=0):
    """``count`` Dovecot users ``<prefix><n>@bench.test`` with ``messages`` messages each in their INBOX."""
    passwd = os.path.join(servers["state_dir"], "passwd")
    root = servers["dovecot"]["main"]["mail_root"]
    lines = []
    for number in range(start, start + count):
        login = f"{prefix}{number}@bench.test"
        lines.append(f"{login}:{{PLAIN}}{PASSWORD}::::::\n")
        new = os.path.join(root, login, "Maildir", "new")
        for folder in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(root, login, "Maildir", folder), exist_ok=True)
        for index in range(messages):
            message = (
                "From: Customer <customer@example.test>\r\n"
                f"To: {login}\r\n"
                f"Subject: Re: offer, part {index}\r\n"
                f"Message-Id: <bench-{prefix}{number}-{index}-{uuid.uuid4().hex}@example.test>\r\n"
                f"In-Reply-To: {thread}\r\n\r\n" + ("x" * 76 + "\r\n") * 26
            )
            with open(os.path.join(new, f"{time.time():.6f}.{uuid.uuid4().hex}.bench"), "w", encoding="ascii") as fh:
                fh.write(message)
    with open(passwd, "a", encoding="utf-8") as fh:
        fh.writelines(lines)
    subprocess.run(["chown", "-R", "nobody:nogroup", root], check=True)


def warm_up(port, database, workers):
    """Have every worker load the database's registry before the round, as long-running workers have:
    twice as many requests at once as there are workers."""
    import concurrent.futures
    import urllib.request

    def visit(_number):
        url = f"http://127.0.0.1:{port}/web/login?db={database}"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=120) as response:
            response.read()

    with concurrent.futures.ThreadPoolExecutor(workers * 2) as pool:
        list(pool.map(visit, range(workers * 2)))


NO_GEVENT = "email_account_bench_no_gevent"


def write_no_gevent_addon(folder):
    """A server-wide module that keeps a prefork Odoo from starting its gevent (websocket) process.
    The Odoo here has no gevent (../shared/odoo/README.md leaves it out), and the prefork master
    starts that process again each time it ends: each start loads Odoo, 0.8 of a core through a round,
    counted as Odoo's. Jobs never use it."""
    os.makedirs(os.path.join(folder, NO_GEVENT))
    files = {
        "__manifest__.py": '{"name": "Bench: no gevent process", "depends": ["base"], "license": "LGPL-3"}\n',
        "__init__.py": (
            "from odoo.service import server\n\nserver.PreforkServer.long_polling_spawn = lambda self: None\n"
        ),
    }
    for name, text in files.items():
        with open(os.path.join(folder, NO_GEVENT, name), "w", encoding="utf-8") as handle:
            handle.write(text)


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OdooSide:
    """The template database (email_account + queue_job, the accounts) and the rounds run on its copies."""

    def __init__(self, odoo, queue_addons, servers):
        self.odoo, self.servers = odoo, servers
        self.addons_path = f"{queue_addons.split(',')[0]},{odoo.addons_path},{queue_addons.split(',')[-1]}"
        if "," not in queue_addons:
            self.addons_path = f"{odoo.addons_path},{queue_addons}"
        self.template = f"{odoo.database}_queue"
        self.copy = f"{odoo.database}_queue_round"
        self.stub = tempfile.TemporaryDirectory(prefix="email_account_bench_prefork_")
        write_no_gevent_addon(self.stub.name)
        self.addons_path += f",{self.stub.name}"  # loaded by the runners' server only (--load)

    def install(self):
        subprocess.run(["dropdb", "--if-exists", self.template], check=True, capture_output=True)
        self.odoo_bin(self.template, "-i", "email_account,queue_job", "--stop-after-init")

    def drop(self):
        for database in (self.template, self.copy):
            subprocess.run(["dropdb", "--if-exists", database], check=False, capture_output=True)
        self.stub.cleanup()

    def odoo_bin(self, database, *options, wait=True, env=None):
        command = [
            self.odoo.python,
            os.path.join(self.odoo.path, "odoo-bin"),
            f"--addons-path={self.addons_path}",
            "-d",
            database,
            "--without-demo=all",
            "--log-level=warn",
            *options,
        ]
        if not wait:
            return subprocess.Popen(
                command,
                cwd="/tmp",
                env={**os.environ, **(env or {})},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        subprocess.run(command, check=True, capture_output=True, cwd="/tmp")
        return None

    def command(self, database, mode, *options):
        return [
            self.odoo.python,
            __file__,
            "--odoo-path",
            self.odoo.path,
            "--addons-path",
            self.addons_path,
            "-d",
            database,
            "--servers",
            self.servers_json,
            mode,
            *map(str, options),
        ]

    @property
    def servers_json(self):
        return os.path.join(self.servers["state_dir"], "servers.json")

    def call(self, database, mode, *options):
        done = subprocess.run(self.command(database, mode, *options), capture_output=True, text=True, cwd="/tmp")
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            raise RuntimeError(f"{shlex.join(self.command(database, mode, *options))}:\n{done.stderr[-4000:]}")
        return json.loads(lines[-1][len("RESULT ") :])

    def fresh(self):
        subprocess.run(["dropdb", "--if-exists", self.copy], check=True, capture_output=True)
        subprocess.run(["createdb", "-T", self.template, self.copy], check=True, capture_output=True)

    def round(self, variant, proxy, upstream, host_limit=None, mailboxes=None):
        """One full fetch round on a fresh copy: ``variant`` "cron" or a number of job runners; with
        ``host_limit``, that many connections at once to the mail host (email_account.host_connections);
        with ``mailboxes``, only the first that many are fetched (the others' servers are not confirmed)."""
        self.fresh()
        if mailboxes:
            psql(
                self.copy,
                "UPDATE fetchmail_server SET state = 'draft' WHERE id NOT IN "
                f"(SELECT id FROM fetchmail_server ORDER BY id LIMIT {int(mailboxes)})",
            )
        if host_limit:
            psql(
                self.copy,
                "INSERT INTO ir_config_parameter (key, value) VALUES "
                f"('email_account.host_connections', '{int(host_limit)}')",
            )
        if proxy:
            proxy.peak()
        # The cron measures itself, from inside its process: its start and registry load are not the round's.
        result = self.call(self.copy, "cron") if variant == "cron" else self.queued(variant)
        result.update(self.call(self.copy, "stats"))
        result["variant"] = variant
        result["host_limit"] = host_limit
        result["mailboxes"] = mailboxes
        result["peak_connections"] = proxy.peak().get(upstream) if proxy else None
        return result

    def queued(self, runners):
        port = free_port()
        server = self.odoo_bin(
            self.copy,
            f"--workers={runners}",
            "--max-cron-threads=0",
            f"--http-port={port}",
            "--gevent-port=0",
            f"--load=base,web,queue_job,{NO_GEVENT}",
            f"--db-filter=^{self.copy}$",
            "--limit-time-real=600",
            "--limit-time-cpu=600",
            wait=False,
            env={"ODOO_QUEUE_JOB_CHANNELS": f"root:{runners},root.email_account:{runners}"},
        )
        try:
            time.sleep(8)  # queue_job's runner starts 5 s after the server
            warm_up(port, self.copy, runners)
            queueing = subprocess.Popen(
                self.command(self.copy, "enqueue"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/tmp"
            )
            queueing.stdout.readline()  # READY: Odoo loaded, as the cron's process is before it queues
            begun, before = time.perf_counter(), cpu.snapshot()
            queued = json.loads(queueing.communicate("go\n")[0].rpartition("RESULT ")[2])
            while True:
                time.sleep(0.5)
                left = psql(self.copy, "SELECT count(*) FROM queue_job WHERE state NOT IN ('done', 'failed')")
                if left == "0" or time.perf_counter() - begun > ROUND_CAP:
                    break
            seconds, after = time.perf_counter() - begun, cpu.snapshot()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        busy = cpu.cores(before, after, seconds)
        # The queueing process ended in the round, reaped by this one: its queueing is Odoo's, not other's.
        moved = min(busy["other"], queued["cpu_queueing"] / seconds)
        busy.update(odoo=busy["odoo"] + moved, other=busy["other"] - moved)
        return {"seconds": seconds, "jobs": queued["jobs"], "finished": left == "0", "cores": busy}

    def kill(self, port, thread, messages):
        """A worker killed (SIGKILL) in the middle of one mailbox's fetch job, then the job run again."""
        self.fresh()
        add_mailboxes(self.servers, "kill", 1, messages, thread)
        account = self.call(self.copy, "setup", "--count", 1, "--prefix", "kill", "--port", port, "--only")["ids"][0]
        uuid_ = self.call(self.copy, "enqueue", "--account", account)["uuid"]
        worker = subprocess.Popen(self.command(self.copy, "perform", uuid_), cwd="/tmp", stdout=subprocess.DEVNULL)
        query = f"SELECT count(*) FROM email_account_message WHERE account_id = {int(account)}"
        while worker.poll() is None and int(psql(self.copy, query)) < messages // 3:
            time.sleep(0.05)
        at_kill = int(psql(self.copy, query))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        for _attempt in range(20):  # PostgreSQL ends the dead worker's session (and its locks) shortly
            again = self.call(self.copy, "perform", uuid_)
            if again["result"] != queue_worker().SKIPPED:
                break
            time.sleep(0.5)
        stats = self.call(self.copy, "stats", "--account", account)
        return {"messages": messages, "imported_at_kill": at_kill, "result_after": again["result"], **stats}


def psql(database, query):
    done = subprocess.run(["psql", "-d", database, "-tAc", query], check=True, capture_output=True, text=True)
    return done.stdout.strip()


# ----------------------------------------------------------------------------- the Odoo side


def odoo_main():
    parser = argparse.ArgumentParser(description="the Odoo side of the queue_job bench row")
    parser.add_argument("--odoo-path", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--servers", required=True)
    parser.add_argument("mode", choices=("setup", "cron", "enqueue", "stats", "perform"))
    parser.add_argument("uuid", nargs="?")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--prefix", default="q")
    parser.add_argument("--port", type=int)
    parser.add_argument("--only", action="store_true", help="setup: remove the other accounts first")
    parser.add_argument("--account", type=int)
    args = parser.parse_args()
    from odoo_db import odoo_environment  # beside this file

    odoo, registry, servers = odoo_environment(args)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        result = globals()[f"odoo_{args.mode}"](env, servers, args)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


def odoo_setup(env, servers, args):
    env["ir.config_parameter"].set_param("email_account.ca_file", servers["ca_file"])
    env["ir.config_parameter"].set_param("email_account.allow_internal_hosts", "True")
    if args.only:
        env["email.account"].search([]).unlink()
    partner = env["res.partner"].search([("name", "=", "Bench customer")], limit=1)
    if not partner:
        partner = env["res.partner"].create({"name": "Bench customer"})
        partner.message_post(body="Our offer", message_type="comment")  # pylint: disable=translation-required
    thread = partner.message_ids.filtered(lambda message: message.message_type == "comment")[:1].message_id
    values = [
        {
            "email": f"{args.prefix}{number}@bench.test",
            "password": PASSWORD,
            "use_for_sending": False,
            "incoming_host": servers["hostname"],
            "incoming_protocol": "imap",
            "incoming_security": "ssl",
            "incoming_port": args.port,
        }
        for number in range(args.count)
    ]
    accounts = env["email.account"].create(values)
    return {"thread": thread, "ids": accounts.ids}


def odoo_cron(env, _servers, _args):
    """Today's path: the fetch cron's own call, one mailbox after another."""
    begun, before = time.perf_counter(), cpu.snapshot()
    env["fetchmail.server"].search(DOMAIN).fetch_mail(raise_exception=False)
    seconds = time.perf_counter() - begun
    return {"seconds": seconds, "jobs": 0, "finished": True, "cores": cpu.cores(before, cpu.snapshot(), seconds)}


def odoo_enqueue(env, _servers, args):
    if args.account:
        account = env["email.account"].browse(args.account)
        account._queue_jobs("fetch")
        job = env["queue.job"].search([("identity_key", "=", f"email_account.fetch:{account.id}")], limit=1)
        return {"uuid": job.uuid}
    # The orchestrator starts the clock when Odoo is loaded, as a cron's process is when its turn comes.
    print("READY", flush=True)
    sys.stdin.readline()
    begun = time.process_time()
    env["fetchmail.server"]._fetch_mails()
    env.cr.commit()  # pylint: disable=invalid-commit  # the cron's end: the runners see the jobs
    return {"jobs": env["queue.job"].search_count([]), "cpu_queueing": time.process_time() - begun}


def odoo_stats(env, _servers, args):
    domain = [("account_id", "=", args.account)] if args.account else []
    records = env["email.account.message"].search(domain)
    ids = records.mapped("message_id")
    imported = env["mail.message"].search_count([("message_id", "in", ids)]) if ids else 0
    jobs = env["queue.job"].read_group([], ["state"], ["state"])
    return {
        "imported": len(records),
        "distinct": len(set(ids)),
        "mail_messages": imported,
        "job_states": {group["state"]: group["state_count"] for group in jobs},
        "fetch_errors": env["email.account"].search_count([("fetch_failure_code", "!=", False)]),
    }


def odoo_perform(env, _servers, args):
    """Run one job as queue_job's runner has a worker run it (the Odoo tier's kill test does the same)."""
    return {"result": queue_worker().perform(env, args.uuid)}


def queue_worker():
    """tests/queue_worker.py, the worker of the Odoo tier's kill test (no ``odoo`` import at its top)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "email_account_queue_worker", os.path.join(root, "tests", "queue_worker.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    odoo_main()
