"""Process control: start a server in its own session, find every process of a state dir (also after a
crash), stop them, wait for their ports. Standard library only: ``stop`` works without the venv.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .client import HarnessError, read_json
from .dovecot import is_dovecot_process
from .layout import DOVECOT_INSTANCES, HOST, START_LIMIT, START_TIMEOUT, Layout, mail_root_for, postfix_root
from .postfix import is_postfix_process


def log(msg: str) -> None:
    sys.stderr.write(f"[mailservers] {msg}\n")
    sys.stderr.flush()


def which(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not found:
        raise HarnessError(f"{name} not found; install dovecot-imapd dovecot-pop3d dovecot-submissiond (make deps)")
    return found


def write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)


def proc_info(pid: int) -> dict | None:
    base = f"/proc/{pid}"
    try:
        with open(f"{base}/stat", "rb") as fh:
            stat = fh.read().decode("utf-8", "replace")
        with open(f"{base}/cmdline", "rb") as fh:
            cmdline = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    info = {"pid": pid, "pgid": int(fields[2]), "cmdline": cmdline, "cwd": "", "root": ""}
    for link in ("cwd", "root"):
        with contextlib.suppress(OSError):
            info[link] = os.readlink(f"{base}/{link}")
    return info


def _parent_pid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("utf-8", "replace")
        return int(stat[stat.rfind(")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _all_procs() -> list[dict]:
    procs = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = proc_info(int(entry))
            if info:
                procs.append(info)
    return procs


def _within(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def harness_processes(layout: Layout) -> list[dict]:
    """Every live process started from this state dir, also after a crash.

    Matches the aiosmtpd and OAuth processes (``smtp-serve`` / ``oauth-serve --state-dir DIR``) and Dovecot or
    Postfix processes that are in a process group recorded in pids.json, or whose cwd
    or chroot lies in the state dir / mail roots (children keep the master's
    base_dir as cwd, login processes are chrooted into it), or whose command
    line names a file there (the masters' ``-c DIR/.../dovecot.conf``).
    """
    recorded = {entry["pgid"] for entry in read_json(layout.pids_json, {}).get("processes", [])}
    roots = [str(layout.state_dir), str(postfix_root(layout))]
    roots += [str(mail_root_for(layout, n)) for n in DOVECOT_INSTANCES]
    ancestors = set()
    pid = os.getpid()
    while pid > 1 and pid not in ancestors:
        ancestors.add(pid)
        pid = _parent_pid(pid)
    found = []
    for info in _all_procs():
        if info["pid"] in ancestors:
            continue
        cmd = info["cmdline"]
        # Dovecot's processes, Postfix's master and the daemons it starts (argv[0] is a bare daemon name).
        is_server = bool(cmd) and (is_dovecot_process(cmd[0]) or is_postfix_process(cmd[0]))
        is_ours = ("smtp-serve" in cmd or "oauth-serve" in cmd) and str(layout.state_dir) in cmd
        if is_ours or (
            is_server
            and (
                info["pgid"] in recorded
                or _within(info["cwd"], roots)
                or _within(info["root"], roots)
                or any(_within(a, roots) for a in cmd)
            )
        ):
            found.append(info)
    return found


def stop(layout: Layout, timeout: float = 10.0) -> int:
    """Stop every process started from the state dir; returns how many were signalled."""
    procs = harness_processes(layout)
    if procs:
        log(f"stopping {len(procs)} harness process(es) from {layout.state_dir}")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for info in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(info["pid"], sig)
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline:
            procs = harness_processes(layout)
            if not procs:
                break
            time.sleep(0.1)
        if not procs:
            break
        if sig == signal.SIGTERM:
            log(f"{len(procs)} process(es) ignored SIGTERM, sending SIGKILL")
    if procs:
        raise HarnessError("could not stop: " + ", ".join(f"{p['pid']} {' '.join(p['cmdline'])}" for p in procs))
    with contextlib.suppress(FileNotFoundError):
        layout.pids_json.unlink()
    with contextlib.suppress(FileNotFoundError):
        layout.servers_json.unlink()
    return len(procs)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


def rotate(path: Path) -> None:
    """Each start begins with empty logs / sink; the previous one is kept as ``<name>.1``."""
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, path.with_name(path.name + ".1"))


def spawn(layout: Layout, processes: list[dict], name: str, argv: list[str], cwd: Path, log_path: Path) -> None:
    """Start ``argv`` in a session of its own, output to ``log_path``, and record it in pids.json at once
    (so that a start that fails half-way still stops it)."""
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    processes.append({"name": name, "pid": proc.pid, "pgid": proc.pid, "log": str(log_path)})
    write_json(layout.pids_json, {"processes": processes})


class _Start:
    """One server's start: the ports it has yet to open, and when it last made progress."""

    def __init__(self, process: dict, ports: dict[str, int], now: float):
        self.process = process
        self.closed = dict(ports)
        self.cpu = -1
        self.progressed = now

    def waiting(self, cpu: int, now: float) -> bool:
        """Whether a port is still closed; a port opened or CPU used (``cpu`` ticks so far) is progress."""
        opened = [label for label, port in self.closed.items() if port_open(port)]
        for label in opened:
            del self.closed[label]
        if opened or cpu > self.cpu:
            self.progressed = now
        self.cpu = cpu
        return bool(self.closed)

    def failure(self, layout: Layout, why: str) -> HarnessError:
        p = self.process
        ports = ", ".join(f"{label} ({port})" for label, port in self.closed.items())
        return HarnessError(
            f"{p['name']} (pid {p['pid']}) {why}; ports still closed: {ports}\n{tail(Path(p['log']))}"
            + _dovecot_logtail(layout, p["name"])
        )


def wait_for_ports(layout: Layout, processes: list[dict]) -> None:
    """Wait until every server listens on all its ports (``layout.server_ports()``).

    A loaded machine slows a start down without stopping it, so there is no fixed budget: a server is
    reported as stuck only once it has gone START_TIMEOUT seconds without progress (no port opened, no
    CPU used by its process group), or when it exits; START_LIMIT bounds the whole wait (a server busy
    in a loop). Each report names the server, its closed ports and the end of its log.
    """
    owned = layout.server_ports()
    started = time.monotonic()
    starts = [_Start(p, owned[p["name"]], started) for p in processes]
    while True:
        cpu = _cpu_ticks({start.process["pgid"] for start in starts})
        now = time.monotonic()
        starts = [start for start in starts if start.waiting(cpu.get(start.process["pgid"], 0), now)]
        if not starts:
            return
        for start in starts:
            if proc_info(start.process["pid"]) is None:
                raise start.failure(layout, "exited during start-up")
            if now - start.progressed > START_TIMEOUT:
                raise start.failure(layout, f"made no progress for {START_TIMEOUT:g}s (stuck, not slow)")
            if now - started > START_LIMIT:
                raise start.failure(layout, f"still starting after {START_LIMIT:g}s though busy all along")
        time.sleep(0.2)


def _cpu_ticks(pgids: set[int]) -> dict[int, int]:
    """CPU time (clock ticks) used so far by each process group of ``pgids``: its live processes and the
    children they have waited for."""
    ticks = dict.fromkeys(pgids, 0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("utf-8", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        pgid = int(fields[2])
        if pgid in ticks:
            ticks[pgid] += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks


def _dovecot_logtail(layout: Layout, process_name: str) -> str:
    if not process_name.startswith("dovecot-"):
        return ""
    return tail(layout.dovecot_log(process_name[len("dovecot-") :]))
