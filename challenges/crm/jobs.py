"""Background jobs for the CRM: attribution tallies, CSV imports, webhook deliveries.

All are at-least-once safe: a tally recomputes from the current data (same result twice),
an import resumes after the rows it already recorded, a delivered webhook is never re-sent.
"""

from __future__ import annotations

from hub.queue import job_context, job_timeout


@job_timeout(120)
def tally_opportunity_job(opportunity_id: int) -> None:
    """Recount one opportunity's touches and credits, then thank advocates of a won deal once."""
    from challenges.crm.attribution import tally, thank_for_won_deals

    with job_context():
        tally([opportunity_id])
        thank_for_won_deals([opportunity_id])


@job_timeout(1800)
def tally_all_job() -> None:
    """The full recomputation (same statements as the incremental one, without a filter)."""
    from challenges.crm.attribution import tally

    with job_context():
        tally(None)


@job_timeout(1800)
def import_opportunities_job(import_id: int) -> None:
    """Import a CSV batch by batch, committing progress after each (the page polls it); a crash
    is recorded on the import and fails it on its last attempt (hub.import_runs)."""
    from challenges.crm.imports import OPPORTUNITIES
    from hub.import_runs import run_import

    run_import(OPPORTUNITIES, import_id)


@job_timeout(60)
def deliver_webhook_job(delivery_id: int) -> None:
    """One signed POST of a webhook delivery; a failure raises so the queue retries it."""
    from challenges.crm.webhooks import attempt

    with job_context():
        attempt(delivery_id)
