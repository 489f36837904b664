"""Interleaved rounds and what is reported from them: median and spread per endpoint, and each
endpoint's ratio to the ceiling (and to the I/O floor, when one is named) measured in the *same*
round.

A round measures the ceiling and every endpoint one after the other; the ratio is taken inside
the round (both figures saw about the same load), then the median and min–max of the per-round
ratios are reported. The CPU ratio is the ceiling's CPU per request divided by the endpoint's:
like the throughput ratio, 0.1 means "costs ten times what the bare app costs".
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Run:
    """One wrk run of one endpoint in one round. Times in ms; `cpu_ms` per completed request,
    by group ("app", "postgres", "redis", "all"); `load` = /proc/loadavg's first three fields
    before the run; `note` = what ran alongside (the award writer)."""

    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non_2xx: int = 0
    cpu_ms: dict[str, float | None] = field(default_factory=dict)
    load: str = ""
    note: str = ""


def median(values: list[float | None]) -> float | None:
    """The median of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def spread(values: list[float | None]) -> tuple[float, float] | None:
    """(min, max) of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return (min(present), max(present)) if present else None


def ratio(value: float | None, reference: float | None) -> float | None:
    """value / reference; None when either is missing or the reference is not positive."""
    if value is None or reference is None or reference <= 0:
        return None
    return value / reference


def cpu_ratio(endpoint_cpu_ms: float | None, ceiling_cpu_ms: float | None) -> float | None:
    """The ceiling's CPU per request over the endpoint's (≤ 1 when the endpoint costs more)."""
    return ratio(ceiling_cpu_ms, endpoint_cpu_ms)


@dataclass
class Summary:
    """An endpoint over all rounds: (median, (min, max)) pairs; ratios taken per round."""

    rounds: int
    rps: tuple[float | None, tuple[float, float] | None]
    ratio: tuple[float | None, tuple[float, float] | None]
    p50_ms: tuple[float | None, tuple[float, float] | None]
    p99_ms: tuple[float | None, tuple[float, float] | None]
    cpu_ms: tuple[float | None, tuple[float, float] | None]
    cpu_ratio: tuple[float | None, tuple[float, float] | None]
    cpu_split_ms: dict[str, float | None]
    non_2xx: int
    floor_ratio: tuple[float | None, tuple[float, float] | None] = (None, None)
    floor_cpu_ratio: tuple[float | None, tuple[float, float] | None] = (None, None)


def _both(values: list[float | None]) -> tuple[float | None, tuple[float, float] | None]:
    return median(values), spread(values)


def summarise(rounds: list[dict[str, Run]], ceiling: str, floor: str = "") -> dict[str, Summary]:
    """Per endpoint name, over the rounds that measured it. Each ratio uses the ceiling's run
    of the same round (a round without the ceiling gives no ratio); `floor_ratio` and
    `floor_cpu_ratio` likewise use the I/O floor's run (named `floor`; none when not given).
    Endpoints keep the order in which they first appear."""
    names: list[str] = []
    for measured in rounds:
        names += [n for n in measured if n not in names]
    result = {}
    for name in names:
        runs = [(m[name], m.get(ceiling)) for m in rounds if name in m]
        floors = [(m[name], m.get(floor) if floor else None) for m in rounds if name in m]
        result[name] = Summary(
            rounds=len(runs),
            rps=_both([r.rps for r, _ in runs]),
            ratio=_both([ratio(r.rps, c.rps if c else None) for r, c in runs]),
            p50_ms=_both([r.p50_ms for r, _ in runs]),
            p99_ms=_both([r.p99_ms for r, _ in runs]),
            cpu_ms=_both([r.cpu_ms.get("all") for r, _ in runs]),
            cpu_ratio=_both([cpu_ratio(r.cpu_ms.get("all"), c.cpu_ms.get("all") if c else None) for r, c in runs]),
            cpu_split_ms={
                group: median([r.cpu_ms.get(group) for r, _ in runs]) for group in ("app", "postgres", "redis")
            },
            non_2xx=sum(r.non_2xx for r, _ in runs),
            floor_ratio=_both([ratio(r.rps, f.rps if f else None) for r, f in floors]),
            floor_cpu_ratio=_both(
                [cpu_ratio(r.cpu_ms.get("all"), f.cpu_ms.get("all") if f else None) for r, f in floors]
            ),
        )
    return result


def change(before: float | None, after: float | None) -> float | None:
    """Relative change after/before − 1 (0.1 = 10 % more); None when either is missing."""
    r = ratio(after, before)
    return None if r is None else r - 1


def fmt(pair: tuple[float | None, tuple[float, float] | None], digits: int = 1) -> str:
    """ "median (min–max)" for a table cell; "—" when nothing was measured."""
    mid, span = pair
    if mid is None or span is None:
        return "—"
    return f"{mid:,.{digits}f} ({span[0]:,.{digits}f}–{span[1]:,.{digits}f})"
