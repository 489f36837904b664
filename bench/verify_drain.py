"""Background verification measured end to end (issue 22, "Workers"): a backlog of link-check
completions submitted, then drained by RQ workers, emails included.

    DATABASE_URL=… REDIS_URL=… python -m bench.verify_drain --count 2000 --workers 2

Serves a page with the marker on 127.0.0.1 (allowed through VOUCH_VERIFY_ALLOW_HOSTS), creates a
fresh `review` challenge checked by `url_check`, submits `count` completions in process, each by
a different seeded advocate with its own link (a queued verification job each, as submissions
do), then starts `workers` `rq worker --burst` processes of the production class
(`hub.worker.VouchSimpleWorker`) on the queue and waits until they exit (queue empty, every email
job included). Prints one JSON line: completions decided and approved, emails the approvals
queued and how many were sent, the wall time from the workers' start to their exit (start-up
included) and the drain window from the first claim to the last decision or email sent (from
the rows' own timestamps: start-up excluded), completions approved per second over each
(counting their emails: the window ends when the last one is sent), and the load average.

Use a copy of the bench database (each run adds a challenge, its completions and their emails)
and a Redis database of your own (the queue is emptied first).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import click

MARKER = "Vouch-Bench-Verified"


def serve_marker() -> tuple[ThreadingHTTPServer, int]:
    """A page with the marker at every path, on a free port of 127.0.0.1, served by threads."""

    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = f"<html><body><p>Thanks! {MARKER}</p></body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        # The socketserver default backlog (5) is below a batch's 8 fetch threads per worker: the
        # connections past it had their SYN dropped and retried a second later (each batch's
        # checks took ~1 s, whatever the code). A real site's backlog is not the bench's to model.
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Page)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def submit_backlog(count: int, port: int) -> tuple[int, list[int]]:
    """A fresh url_check challenge and `count` submitted completions of it (committed one by
    one, each enqueuing its job); returns (challenge id, completion ids)."""
    from sqlalchemy import select

    from challenges import services
    from hub.errors import VouchError
    from hub.extensions import db
    from hub.models import Advocate, User

    owner_id = db.session.scalar(select(User.id).where(User.role != "advocate").order_by(User.id).limit(1))
    data = {
        "title": f"Bench link check {time.time():.0f}",
        "type": "review",
        "description": "Post a review that says the marker.",
        "points": 25,
        "allowed_domains": ["127.0.0.1"],
        "marker": MARKER,
        "verification": "url_check",
    }
    challenge = services.create_challenge(services.clean_challenge(data), owner_id)
    services.publish_challenge(challenge.id, owner_id)
    db.session.commit()
    advocates = db.session.scalars(
        select(Advocate.id)
        .join(User, User.id == Advocate.user_id)
        .where(Advocate.is_erased.is_(False), User.is_active_user.is_(True))
        .order_by(Advocate.id.desc())
        .limit(count * 2)
    ).all()
    ids: list[int] = []
    for advocate_id in advocates:
        if len(ids) == count:
            break
        url = f"http://127.0.0.1:{port}/review/{challenge.id}/{advocate_id}"
        try:
            completion = services.submit_completion(challenge.id, advocate_id, {"evidence_url": url})
            db.session.commit()
        except VouchError:  # the advocate's caps or limits: take the next one
            db.session.rollback()
            continue
        ids.append(completion.id)
    return challenge.id, ids


def figures(completion_ids: list[int]) -> dict[str, Any]:
    """What happened to the completions and their emails, from the rows."""
    from sqlalchemy import func, select

    from challenges.models import Completion
    from hub.email.models import OutboxEmail
    from hub.extensions import db
    from hub.models import Advocate

    db.session.rollback()
    statuses = dict(
        db.session.execute(
            select(Completion.status, func.count()).where(Completion.id.in_(completion_ids)).group_by(Completion.status)
        ).all()
    )
    first_claim, last_decision = db.session.execute(
        select(func.min(Completion.verifying_started_at), func.max(Completion.decided_at)).where(
            Completion.id.in_(completion_ids)
        )
    ).one()
    users = select(Advocate.user_id).join(Completion, Completion.advocate_id == Advocate.id)
    users = users.where(Completion.id.in_(completion_ids))
    emails = db.session.execute(
        select(OutboxEmail.status, func.count(), func.max(OutboxEmail.sent_at))
        .where(OutboxEmail.user_id.in_(users), OutboxEmail.created_at >= first_claim)
        .group_by(OutboxEmail.status)
    ).all()
    by_status = {status.value if hasattr(status, "value") else status: n for status, n in statuses.items()}
    sent = sum(n for status, n, _ in emails if status == "sent")
    last_sent = max((at for _, _, at in emails if at is not None), default=None)
    window_end = max(at for at in (last_decision, last_sent) if at is not None)
    return {
        "statuses": by_status,
        "emails": {status: n for status, n, _ in emails},
        "emails_sent": sent,
        "window_s": (window_end - first_claim).total_seconds() if first_claim else None,
    }


@click.command()
@click.option("--count", default=2000, show_default=True, help="completions submitted as the backlog")
@click.option("--workers", "worker_count", default=2, show_default=True, help="rq workers draining it")
def main(count: int, worker_count: int) -> None:
    """Submit a backlog of link checks and time 2 RQ workers draining it, emails included."""
    server, port = serve_marker()
    os.environ["VOUCH_VERIFY_ALLOW_HOSTS"] = "127.0.0.1"
    env = {**os.environ}
    from hub.app import create_app
    from hub.extensions import db

    app = create_app()
    with app.app_context():
        backend = app.extensions["vouch_queue"]
        queue_name = backend.queue_name()
        backend.queue().empty()
        started = time.monotonic()
        challenge_id, ids = submit_backlog(count, port)
        submitted_s = time.monotonic() - started
        queued = backend.queue().count
        db.session.remove()
    load_before = os.getloadavg()
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                os.path.join(os.path.dirname(sys.executable), "rq"),
                "worker",
                "--burst",
                "--worker-class",
                "hub.worker.VouchSimpleWorker",
                "--url",
                env["REDIS_URL"],
                "--logging_level",
                "WARNING",
                queue_name,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(worker_count)
    ]
    for proc in procs:
        proc.wait()
    wall_s = time.monotonic() - started
    load_after = os.getloadavg()
    server.shutdown()
    with app.app_context():
        found = figures(ids)
    approved = found["statuses"].get("approved", 0)
    window = found["window_s"] or wall_s
    print(
        json.dumps(
            {
                "challenge_id": challenge_id,
                "submitted": len(ids),
                "submit_s": round(submitted_s, 1),
                "jobs_queued": queued,
                "workers": worker_count,
                **found,
                "wall_s": round(wall_s, 2),
                "approved_per_s_wall": round(approved / wall_s, 1),
                "approved_per_s_window_incl_emails": round(approved / window, 1),
                "loadavg_before": load_before,
                "loadavg_after": load_after,
            }
        )
    )


if __name__ == "__main__":
    main()
