"""Reference-request rules, one module per concern, re-exported here
(`from challenges.references import services`).

- requests: filing a request (validated input) and reading requests, asks and the fill rate;
- candidates: who can take a request, ranked, and the excluded with why; alternatives;
- assignments: asking an advocate, their answer, the sales feedback, unfilled and withdrawn
  requests.

Services flush and never commit.
"""

from __future__ import annotations

from challenges.references.services.assignments import (
    ASSIGNMENT_SOURCE,
    FeedbackBody,
    FeedbackInput,
    UnfilledBody,
    accepted_event,
    assign,
    complete_reference_call,
    give_feedback,
    mark_unfilled,
    parse_feedback,
    respond,
    withdraw,
)
from challenges.references.services.candidates import Matches, alternatives_for, find_matches
from challenges.references.services.requests import (
    LATEST_ASKS,
    MAX_TOPICS,
    FillMetrics,
    PendingAsk,
    RequestBody,
    RequestInput,
    asks_for,
    assignment_of,
    file_request,
    fill_metrics,
    fill_metrics_in,
    list_requests,
    parse_request,
    pending_asks,
    request_for,
)

__all__ = [
    "ASSIGNMENT_SOURCE",
    "LATEST_ASKS",
    "MAX_TOPICS",
    "FeedbackBody",
    "FeedbackInput",
    "FillMetrics",
    "Matches",
    "PendingAsk",
    "RequestBody",
    "RequestInput",
    "UnfilledBody",
    "accepted_event",
    "alternatives_for",
    "asks_for",
    "assign",
    "assignment_of",
    "complete_reference_call",
    "file_request",
    "fill_metrics",
    "fill_metrics_in",
    "find_matches",
    "give_feedback",
    "list_requests",
    "mark_unfilled",
    "parse_feedback",
    "parse_request",
    "pending_asks",
    "request_for",
    "respond",
    "withdraw",
]
