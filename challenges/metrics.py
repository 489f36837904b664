"""The challenges package's figures for `/metrics`, computed at scrape time (hub.metrics):
`vouch_completions{status}`, how many completions are in each state now."""

from __future__ import annotations

from flask import Flask
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from challenges.models import Completion, CompletionStatus
from hub.extensions import db
from hub.metrics import add_scrape_source


def completion_figures() -> list[GaugeMetricFamily]:
    counts = dict(db.session.execute(select(Completion.status, func.count()).group_by(Completion.status)).all())
    db.session.rollback()
    family = GaugeMetricFamily("vouch_completions", "Completions by status.", labels=["status"])
    for status in CompletionStatus:
        family.add_metric([status.value], counts.get(status, 0))
    return [family]


def install(app: Flask) -> None:
    """Register the completions figure with this app's scrape."""
    add_scrape_source(app, "completions", completion_figures)
