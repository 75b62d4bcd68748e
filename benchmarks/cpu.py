"""Who keeps the cores busy during a measured stretch: CPU seconds per kind of process, from /proc.

A row that scales with worker processes needs to say where the CPU saturates: in Odoo, in
PostgreSQL, in the mail server, or in the latency proxy standing in for the network. Each live
process counts its own CPU time plus that of the children it has reaped (``cutime``/``cstime``), so a
Dovecot ``imap`` process or a PostgreSQL backend that ends during the stretch is still counted, in
its master's kind. *Other* is the rest of the machine's busy time (from /proc/stat): other work on
the machine, the kernel's share of the network included.
"""

import os

KINDS = ("odoo", "postgres", "dovecot", "proxy")
TICKS = os.sysconf("SC_CLK_TCK")


def kind_of(cmdline):
    """The kind of a process by its command line (NUL-separated, as /proc gives it)."""
    text = cmdline.replace(b"\0", b" ").decode(errors="replace")
    # The masters by their program (/usr/lib/postgresql/15/bin/postgres, /usr/sbin/dovecot), the
    # processes they fork by the titles they set ("postgres: 15/main: ...", "dovecot-<instance>/imap").
    program = os.path.basename(text.split(" ", 1)[0])
    if "odoo-bin" in text or "queue_round.py" in text or text.startswith("odoo:"):  # "odoo: WorkerHTTP ..."
        return "odoo"
    if program.startswith("postgres"):
        return "postgres"
    if program == "dovecot" or text.startswith("dovecot"):
        return "dovecot"
    if "latency.py" in text:
        return "proxy"
    return None


def snapshot():
    """{"machine": busy seconds of all cores since boot, "processes": {pid: (kind, CPU seconds)}} for
    the processes of a kind alive now, their reaped children included."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, _idle, _iowait, *rest = (int(value) for value in stat.readline().split()[1:])
    processes = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                # The fields after the command name, which may hold spaces and brackets.
                fields = stat.read().rpartition(b")")[2].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:  # ended meanwhile
            continue
        kind = kind_of(cmdline)
        if kind:  # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after the name
            processes[entry] = (kind, sum(int(value) for value in fields[11:15]) / TICKS)
    return {"machine": (user + nice + system + sum(rest[:3])) / TICKS, "processes": processes}


def cores(before, after, wall):
    """{kind: cores kept busy on average} between two snapshots ``wall`` seconds apart, "other" and
    "machine" included. Process by process, so that one ending does not take its CPU out of its kind's
    sum: one that started in between counts from zero, one that ended counts in its parent's kind if
    its parent reaped it, else in "other" (the rest of the machine)."""
    seconds = dict.fromkeys(KINDS, 0.0)
    for pid, (kind, used) in after["processes"].items():
        earlier_kind, earlier = before["processes"].get(pid, (kind, 0.0))
        seconds[kind] += used - earlier if earlier_kind == kind else used
    busy = {kind: value / wall for kind, value in seconds.items()}
    busy["machine"] = (after["machine"] - before["machine"]) / wall
    busy["other"] = max(0.0, busy["machine"] - sum(busy[kind] for kind in KINDS))
    return busy
