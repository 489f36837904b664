"""Background jobs of the prospects package: the advocacy-score import (at-least-once safe: it
resumes after the rows it recorded; an upsert of the same row twice changes nothing)."""

from __future__ import annotations

from hub.queue import job_context, job_timeout


@job_timeout(1800)
def import_scores_job(import_id: int) -> None:
    """Import a score CSV batch by batch, committing progress after each (the page polls it)."""
    from challenges.prospects.scores import import_batch

    more = True
    while more:
        with job_context():
            more = import_batch(import_id)
