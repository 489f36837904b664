"""The arithmetic behind the benchmark's figures (issue 22 "Measure first"): CPU from /proc
samples, statements and round trips from a libpq trace, medians, spreads and per-round ratios.
Expected values are worked out by hand in the comments."""

from __future__ import annotations

import json

import pytest

from bench import procstat
from bench.compare import paired
from bench.counts import parse_trace
from bench.rounds import Run, change, cpu_ratio, fmt, median, ratio, spread, summarise
from bench.run import statements

# proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime …
STAT = "4242 (gunicorn: worker [wsgi:app]) S 4200 4200 4200 0 -1 4194560 100 0 0 0 250 40 0 0 20 0 1 0 5000"


def test_parse_stat_reads_ppid_and_utime_plus_stime_past_a_command_name_with_spaces_and_parens():
    stat = procstat.parse_stat(STAT)
    assert stat.pid == 4242
    assert stat.comm == "gunicorn: worker [wsgi:app]"
    assert stat.ppid == 4200
    assert stat.ticks == 250 + 40


def test_parse_stat_uses_the_last_closing_paren():
    # A command named "a) S 1 (" must not shift the fields: ppid 7, utime 11, stime 13.
    stat = procstat.parse_stat("9 (a) S 1 () R 7 0 0 0 0 0 0 0 0 0 11 13 0 0")
    assert (stat.comm, stat.ppid, stat.ticks) == ("a) S 1 (", 7, 24)


def test_consumed_ticks_counts_new_processes_from_zero_and_ignores_exited_ones():
    before = {1: 100, 2: 50, 3: 70}
    after = {1: 130, 2: 50, 4: 9}  # 3 exited, 4 started during the run
    # 1: 30, 2: 0, 4: 9 (new), 3: nothing (its time after the first sample is unknown)
    assert procstat.consumed_ticks(before, after) == 39


def test_consumed_ticks_counts_a_reused_pid_from_zero():
    # pid 5 went from 500 to 20: a new process reused the pid; it used 20 ticks.
    assert procstat.consumed_ticks({5: 500}, {5: 20}) == 20


def test_cpu_ms_per_request():
    # 150 ticks at 100 per second = 1.5 s = 1,500 ms over 600 requests = 2.5 ms each.
    assert procstat.cpu_ms_per_request(150, 600, 100) == pytest.approx(2.5)
    assert procstat.cpu_ms_per_request(150, 0, 100) is None


def test_cpu_per_request_splits_by_group_and_totals():
    before = {"app": {10: 1000, 11: 2000}, "postgres": {20: 300}, "redis": {30: 5000}}
    after = {"app": {10: 1080, 11: 2100}, "postgres": {20: 340, 21: 20}, "redis": {30: 5010}}
    # app 80 + 100 = 180 ticks; postgres 40 + 20 (new backend) = 60; redis 10; all 250.
    # 200 requests at 100 ticks/s: app 180/100/200 s = 9 ms; pg 3 ms; redis 0.5 ms; all 12.5 ms.
    got = procstat.cpu_per_request(before, after, 200, 100)
    assert got == pytest.approx({"app": 9.0, "postgres": 3.0, "redis": 0.5, "all": 12.5})


def test_descendants_follows_the_parent_tree():
    stats = [
        procstat.ProcStat(1, "init", 0, 0),
        procstat.ProcStat(100, "gunicorn", 1, 0),
        procstat.ProcStat(101, "gunicorn", 100, 0),
        procstat.ProcStat(102, "gunicorn", 100, 0),
        procstat.ProcStat(103, "helper", 102, 0),
        procstat.ProcStat(200, "postgres", 1, 0),
    ]
    assert procstat.descendants(100, stats) == {100, 101, 102, 103}


@pytest.mark.parametrize(
    "title, database, expected",
    [
        ("postgres: 15/main: postgres vouch_bench_meth 127.0.0.1(5123) idle", "vouch_bench_meth", True),
        ("postgres: postgres vouch_bench_meth 127.0.0.1(5123) SELECT", "vouch_bench_meth", True),
        ("postgres: 15/main: postgres vouch_bench_meth_old 127.0.0.1(5123) idle", "vouch_bench_meth", False),
        ("postgres: 15/main: checkpointer", "vouch_bench_meth", False),
        ("postgres: 15/main: walwriter", "walwriter", False),
        ("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", "main", False),
    ],
)
def test_a_backend_belongs_to_the_database_in_its_title(title, database, expected):
    assert procstat.is_backend_of(title, database) is expected


def test_parse_tcp_table_keeps_established_sockets_with_their_remote_port():
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:A1B2 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 5551 1\n"
        "   1: 0100007F:A1B3 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 5552 1\n"
        "   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5553 1\n"
    )
    # 0x1538 = 5432 (PostgreSQL), 0x18EB = 6379 (Redis); the listening socket (0A) is left out.
    assert procstat.parse_tcp_table(table) == {5551: 5432, 5552: 6379}


TRACE = """F\t10\tQuery\t "BEGIN"
B\t10\tCommandComplete\t "BEGIN"
B\t5\tReadyForQuery\t T
F\t26\tParse\t "" "select $1::int" 1 NNNN
F\t22\tBind\t "" "" 1 1 1 2 '\\x00\\x01' 1 0
F\t6\tDescribe\t P ""
F\t9\tExecute\t "" 0
F\t4\tSync
B\t4\tParseComplete
B\t13\tCommandComplete\t "SELECT 1"
B\t5\tReadyForQuery\t T
F\t6\tQuery\t ";"
B\t4\tEmptyQueryResponse
B\t5\tReadyForQuery\t T
F\t30\tQuery\t "SAVEPOINT sa_savepoint_1"
B\t5\tReadyForQuery\t T
F\t11\tQuery\t "COMMIT"
B\t11\tCommandComplete\t "COMMIT"
B\t5\tReadyForQuery\t I
"""


def test_parse_trace_counts_statements_transaction_control_pings_and_round_trips():
    # One Execute and one SAVEPOINT query are statements; BEGIN and COMMIT transaction control;
    # ";" is SQLAlchemy's pre-ping; five ReadyForQuery = five round trips.
    assert parse_trace(TRACE) == {"statements": 2, "transaction_control": 2, "pings": 1, "round_trips": 5}


def test_statements_cell():
    assert statements({"statements": 12, "transaction_control": 2, "pings": 1}) == "12 + 2 tx + 1 ping"
    assert statements({"statements": 1, "transaction_control": 0, "pings": 0}) == "1"
    assert statements({}) == ""


def test_median_spread_and_ratio_skip_missing_values():
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([None]) is None
    assert spread([3.0, None, 1.0, 2.0]) == (1.0, 3.0)
    assert spread([]) is None
    assert ratio(50.0, 200.0) == 0.25
    assert ratio(50.0, 0.0) is None and ratio(None, 1.0) is None
    # The endpoint costs 4 ms, the ceiling 0.5 ms: 0.125 × bare.
    assert cpu_ratio(4.0, 0.5) == 0.125
    assert change(200.0, 180.0) == pytest.approx(-0.1)


def run(rps: float, cpu: float | None, p50: float = 1.0) -> Run:
    return Run(rps=rps, p50_ms=p50, p99_ms=2 * p50, max_ms=3 * p50, requests=100, cpu_ms={"all": cpu, "app": cpu})


def test_summarise_takes_each_ratio_within_its_round():
    rounds = [
        {"bare": run(1000, 0.5), "feed": run(100, 5.0, p50=30)},
        {"bare": run(500, 0.4), "feed": run(60, 8.0, p50=50)},
        {"bare": run(800, 0.5), "feed": run(40, 4.0, p50=40)},
    ]
    s = summarise(rounds, "bare")["feed"]
    # Per-round ratios: 100/1000 = 0.1, 60/500 = 0.12, 40/800 = 0.05 → median 0.1, spread 0.05–0.12
    # (the ratio of the medians would be 60/800 = 0.075: not what is reported).
    assert s.ratio[0] == pytest.approx(0.1)
    assert s.ratio[1] == pytest.approx((0.05, 0.12))
    assert s.rps == (60, (40, 100))
    assert s.p50_ms == (40, (30, 50))
    # CPU ratios: 0.5/5 = 0.1, 0.4/8 = 0.05, 0.5/4 = 0.125 → median 0.1.
    assert s.cpu_ratio[0] == pytest.approx(0.1)
    assert s.cpu_ratio[1] == pytest.approx((0.05, 0.125))
    assert s.cpu_ms == (5.0, (4.0, 8.0))
    assert s.rounds == 3
    assert summarise(rounds, "bare")["bare"].ratio == (1.0, (1.0, 1.0))


def test_summarise_takes_the_floor_ratio_within_its_round_too():
    rounds = [
        {"bare": run(1000, 0.5), "floor": run(300, 1.5), "lb": run(400, 1.2)},
        {"bare": run(500, 0.4), "floor": run(200, 2.0), "lb": run(100, 4.0)},
        {"bare": run(800, 0.5), "floor": run(250, 1.0), "lb": run(250, 2.0)},
    ]
    s = summarise(rounds, "bare", "floor")["lb"]
    # req/s over the floor's of the same round: 400/300, 100/200 = 0.5, 250/250 = 1 → median 1.
    assert s.floor_ratio[0] == pytest.approx(1.0)
    assert s.floor_ratio[1] == pytest.approx((0.5, 400 / 300))
    # By CPU, the floor's over the endpoint's: 1.5/1.2 = 1.25, 2/4 = 0.5, 1/2 = 0.5 → median 0.5.
    assert s.floor_cpu_ratio[0] == pytest.approx(0.5)
    assert s.floor_cpu_ratio[1] == pytest.approx((0.5, 1.25))
    # The ceiling's ratios are unchanged by naming a floor: 0.4, 0.2, 0.3125 → median 0.3125.
    assert s.ratio[0] == pytest.approx(0.3125)
    assert summarise(rounds, "bare")["lb"].floor_ratio == (None, None)


def test_summarise_gives_no_ratio_for_a_round_without_the_ceiling():
    s = summarise([{"feed": run(100, 5.0)}, {"bare": run(1000, 0.5), "feed": run(50, 5.0)}], "bare")["feed"]
    # Only the second round has a ceiling: 50/1000.
    assert s.ratio == (pytest.approx(0.05), (pytest.approx(0.05), pytest.approx(0.05)))
    assert s.rounds == 2


def test_paired_after_over_before_within_each_round():
    before = [run(200, 4.0), run(100, 5.0), run(150, 4.0)]
    after = [run(180, 4.4), run(95, 5.0), run(150, 5.0)]
    # req/s: 0.9, 0.95, 1.0 → median 0.95; CPU: 1.1, 1.0, 1.25 → median 1.1.
    assert paired(before, after, "rps")[0] == pytest.approx(0.95)
    assert paired(before, after, "rps")[1] == pytest.approx((0.9, 1.0))
    assert paired(before, after, "cpu")[0] == pytest.approx(1.1)


def test_fmt_cell():
    assert fmt((0.1, (0.05, 0.125)), 3) == "0.100 (0.050–0.125)"
    assert fmt((1234.5, (1000.0, 1500.0)), 0) == "1,234 (1,000–1,500)"
    assert fmt((None, None)) == "—"


def test_compare_reports_each_side_against_the_references_of_the_same_round(tmp_path, monkeypatch):
    from pathlib import Path

    import bench.compare as compare
    from bench.run import CEILING, FLOOR

    monkeypatch.setattr(compare, "RESULTS", tmp_path)
    sides = [compare.Side(label, label, "0" * 40, Path("."), "postgresql://x/db") for label in ("before", "after")]
    references = [
        {CEILING: run(1000, 0.5), FLOOR: run(400, 1.0)},
        {CEILING: run(2000, 0.25), FLOOR: run(500, 1.25)},
    ]
    measured = {
        "before": [{"lb": run(100, 5.0)}, {"lb": run(100, 5.0)}],
        "after": [{"lb": run(400, 1.0)}, {"lb": run(600, 1.0)}],
    }
    compare.write_compare(sides, measured, {}, 2, 10, 4, "abba", references)
    table = (tmp_path / "compare.md").read_text()
    # after: × bare 400/1000 = 0.4 and 600/2000 = 0.3 → median 0.35; × floor 1.0 and 1.2 → 1.1;
    # CPU × bare 0.5/1 and 0.25/1 → 0.375; CPU × floor 1.0 and 1.25 → 1.125.
    assert "| lb | after | 0.350 (0.300–0.400) | 1.10 (1.00–1.20) | 0.375 (0.250–0.500) | 1.12 (1.00–1.25) |" in table
    # before: × bare 0.1 and 0.05; × floor 0.25 and 0.2.
    assert "| lb | before | 0.075 (0.050–0.100) | 0.23 (0.20–0.25) |" in table
    payload = json.loads((tmp_path / "compare.json").read_text())
    assert payload["references"][1][FLOOR]["rps"] == 500
