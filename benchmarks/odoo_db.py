"""The bench's throwaway Odoo databases (email_account installed; stock: only ``mail``) and the
runner of benchmarks/odoo_rows.py, each row in an Odoo process of its own."""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def odoo_environment(args):
    """In an Odoo process (Odoo's Python): Odoo configured from ``args`` (``odoo_path``, ``addons_path``,
    ``database``, ``servers``); returns (the odoo package, the database's registry, servers.json as a dict)."""
    sys.path.insert(0, args.odoo_path)
    import odoo  # found through --odoo-path, hence imported here

    odoo.tools.config.parse_config(["--addons-path", args.addons_path, "-d", args.database, "--log-level=warn"])
    with open(args.servers, encoding="utf-8") as handle:
        servers = json.load(handle)
    return odoo, odoo.modules.registry.Registry(args.database), servers


def linked_addon(folder):
    """``folder``/email_account: a folder of links to the checkout's entries, hidden ones (.odoo, .venv,
    .git, .run) left out, as make test links it; outside the checkout, so nothing walks in circles."""
    addon = os.path.join(folder, "email_account")
    os.mkdir(addon)
    for entry in sorted(os.listdir(ROOT)):
        if not entry.startswith("."):
            os.symlink(os.path.join(ROOT, entry), os.path.join(addon, entry))


class Odoo:
    """Throwaway databases (email_account installed; stock: only ``mail``), and the odoo_rows.py runner."""

    def __init__(self, path, python):
        self.path, self.python = path, python
        self.addons = None
        self.database = f"email_account_bench_{os.getpid()}"
        self.stock_database = f"{self.database}_stock"

    @classmethod
    def from_environment(cls):
        path, python = os.environ.get("ODOO_PATH"), os.environ.get("ODOO_PYTHON")
        return cls(path, python) if path and python else None

    def __enter__(self):
        self.addons = tempfile.mkdtemp(prefix="email_account_bench_")
        linked_addon(self.addons)
        for database, module in ((self.database, "email_account"), (self.stock_database, "mail")):
            subprocess.run(["dropdb", "--if-exists", database], check=True, capture_output=True)
            subprocess.run(
                [
                    self.python,
                    os.path.join(self.path, "odoo-bin"),
                    f"--addons-path={self.addons_path}",
                    "-d",
                    database,
                    "-i",
                    module,
                    "--stop-after-init",
                    "--without-demo=all",
                    "--http-port=0",
                    "--max-cron-threads=0",
                    "--log-level=warn",
                ],
                check=True,
                capture_output=True,
                cwd="/tmp",
            )
        return self

    def __exit__(self, *exc):
        for database in (self.database, self.stock_database):
            subprocess.run(["dropdb", "--if-exists", database], check=False, capture_output=True)
        shutil.rmtree(self.addons, ignore_errors=True)

    def race(self, servers_json, contender, protocol, messages, *options):
        """One fetch-race row on a fresh copy of the contender's database."""
        template = self.database if contender == "ours" else self.stock_database
        fresh = f"{self.database}_race"
        subprocess.run(["dropdb", "--if-exists", fresh], check=True, capture_output=True)
        subprocess.run(["createdb", "-T", template, fresh], check=True, capture_output=True)
        try:
            return self.row(
                servers_json,
                "fetch-race",
                "--contender",
                contender,
                "--protocol",
                protocol,
                "--messages",
                messages,
                *options,
                database=fresh,
            )
        finally:
            subprocess.run(["dropdb", "--if-exists", fresh], check=False, capture_output=True)

    @property
    def addons_path(self):
        return f"{os.path.join(self.path, 'addons')},{self.addons}"

    def row(self, servers_json, mode, *options, timeout=None, database=None):
        """Run one mode of odoo_rows.py; its RESULT dict, or None when it did not finish within ``timeout``."""
        command = [
            self.python,
            os.path.join(HERE, "odoo_rows.py"),
            "--odoo-path",
            self.path,
            "--addons-path",
            self.addons_path,
            "-d",
            database or self.database,
            "--servers",
            servers_json,
            mode,
            *map(str, options),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, cwd="/tmp")
        except subprocess.TimeoutExpired:
            return None
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
        return json.loads(lines[-1][len("RESULT ") :])
