"""CPU time of the processes that serve a benchmark, read from /proc (Linux).

A wrk run on a shared machine gives a noisy req/s; the CPU the server side spent per completed
request is much steadier. `cpu_sample` reads utime+stime of three groups — the gunicorn master
and its workers, the PostgreSQL backends connected to the bench database, redis-server — before
and after a run; `cpu_ms_per_request` turns the two samples into milliseconds per request.

Limits, stated where the figures are printed: the PostgreSQL background processes (WAL writer,
checkpointer) are shared by every database on the server and are not counted; redis-server is
one process for every Redis database, so its share is an upper bound on a shared machine; a
process that exits between the two samples loses the time it used after the first one (gunicorn
workers and their pooled backends live for the whole run).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
GROUPS = ("app", "postgres", "redis")


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat the bench needs. `ticks` = utime + stime, in clock ticks."""

    pid: int
    comm: str
    ppid: int
    ticks: int


def parse_stat(text: str) -> ProcStat:
    """Parse one /proc/<pid>/stat line. The command name sits in parentheses and may itself
    contain spaces and parentheses, so the fields after it are found from the *last* ')'.
    Field numbers (proc(5)): 4 ppid, 14 utime, 15 stime. ValueError on a malformed line."""
    open_paren, close_paren = text.index("("), text.rindex(")")
    pid = int(text[:open_paren].strip())
    comm = text[open_paren + 1 : close_paren]
    rest = text[close_paren + 2 :].split()
    # rest[0] is field 3 (state), so field n is rest[n - 3].
    return ProcStat(pid=pid, comm=comm, ppid=int(rest[1]), ticks=int(rest[11]) + int(rest[12]))


def consumed_ticks(before: dict[int, int], after: dict[int, int]) -> int:
    """Clock ticks used between two samples ({pid: ticks}). A pid that appears only in `after`
    started during the run and counts from zero; a pid only in `before` exited and its time
    after the first sample is unknown, so it counts nothing. A pid whose counter went down was
    reused by a new process and counts its `after` value."""
    total = 0
    for pid, ticks in after.items():
        start = before.get(pid, 0)
        total += ticks - start if ticks >= start else ticks
    return total


def cpu_ms_per_request(ticks: int, requests: int, clock_ticks_per_s: int) -> float | None:
    """Milliseconds of CPU per completed request; None when nothing completed."""
    if requests <= 0:
        return None
    return ticks * 1000.0 / clock_ticks_per_s / requests


def clock_ticks_per_second() -> int:
    """USER_HZ: the unit of utime/stime (100 on Linux)."""
    return os.sysconf("SC_CLK_TCK")


def _read(pid_dir: Path, name: str) -> str | None:
    try:
        return (pid_dir / name).read_text(errors="replace")
    except OSError:  # the process exited while the directory was listed
        return None


def all_processes() -> list[tuple[ProcStat, str]]:
    """Every process as (stat, command line with NULs as spaces)."""
    found = []
    for pid_dir in PROC.iterdir():
        if not pid_dir.name.isdigit():
            continue
        stat = _read(pid_dir, "stat")
        cmdline = _read(pid_dir, "cmdline")
        if stat is None or cmdline is None:
            continue
        found.append((parse_stat(stat), cmdline.replace("\0", " ").strip()))
    return found


def descendants(root: int, stats: list[ProcStat]) -> set[int]:
    """`root` and every process below it in the parent tree."""
    children: dict[int, list[int]] = {}
    for s in stats:
        children.setdefault(s.ppid, []).append(s.pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, []))
    return tree


def is_backend_of(cmdline: str, database: str) -> bool:
    """A PostgreSQL backend's process title is "postgres: [<cluster name>:] <user> <database>
    <client> <state>" (Debian sets cluster_name "15/main", the title then carries "15/main:")."""
    parts = cmdline.split()
    if not parts or parts[0] != "postgres:":
        return False
    parts = parts[2:] if len(parts) > 1 and parts[1].endswith(":") else parts[1:]
    return len(parts) >= 2 and parts[1] == database


def cpu_sample(server_pids: list[int], database: str, redis_pids: list[int] | None = None) -> dict[str, dict[int, int]]:
    """{group: {pid: ticks}} for the gunicorn trees rooted at `server_pids`, the backends of
    `database` and redis-server (only `redis_pids` when given: a private server)."""
    processes = all_processes()
    stats = [s for s, _ in processes]
    app: set[int] = set()
    for root in server_pids:
        app |= descendants(root, stats)
    sample: dict[str, dict[int, int]] = {group: {} for group in GROUPS}
    for stat, cmdline in processes:
        if stat.pid in app:
            sample["app"][stat.pid] = stat.ticks
        elif is_backend_of(cmdline, database):
            sample["postgres"][stat.pid] = stat.ticks
        elif stat.comm == "redis-server" and (redis_pids is None or stat.pid in redis_pids):
            sample["redis"][stat.pid] = stat.ticks
    return sample


def cpu_per_request(
    before: dict[str, dict[int, int]], after: dict[str, dict[int, int]], requests: int, clock_ticks_per_s: int
) -> dict[str, float | None]:
    """CPU ms per request for each group and their total ("all")."""
    per_group = {group: consumed_ticks(before.get(group, {}), after.get(group, {})) for group in GROUPS}
    result = {group: cpu_ms_per_request(t, requests, clock_ticks_per_s) for group, t in per_group.items()}
    result["all"] = cpu_ms_per_request(sum(per_group.values()), requests, clock_ticks_per_s)
    return result


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers (children) of a master process."""
    return sorted(descendants(master, [s for s, _ in all_processes()]) - {master})


def ticks_of(pids: list[int]) -> dict[int, int]:
    """{pid: ticks} for the pids still running."""
    found = {}
    for pid in pids:
        stat = _read(PROC / str(pid), "stat")
        if stat is not None:
            found[pid] = parse_stat(stat).ticks
    return found


def load_average() -> str:
    """The first three fields of /proc/loadavg ("1-min 5-min 15-min")."""
    return " ".join((PROC / "loadavg").read_text().split()[:3])


def parse_tcp_table(text: str) -> dict[int, int]:
    """{socket inode: remote port} of the established sockets in a /proc/net/tcp(6) table
    (columns: sl, local_address, rem_address "HEX_IP:HEX_PORT", st (01 = ESTABLISHED), …, inode
    in the tenth column)."""
    found = {}
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 10 and cols[3] == "01":
            found[int(cols[9])] = int(cols[2].rsplit(":", 1)[1], 16)
    return found


def remote_ports(pid: int) -> set[int]:
    """Remote TCP ports of the process's established connections (5432: PostgreSQL, 6379: Redis)."""
    inodes = set()
    try:
        for fd in (PROC / str(pid) / "fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        text = _read(PROC / str(pid) / "net", table) or ""
        ports |= {port for inode, port in parse_tcp_table(text).items() if inode in inodes}
    return ports
