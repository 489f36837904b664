"""Request latency while Redis accepts connections but never answers (issue 13 item 4).

    python -m bench.hung_redis [--repeat 5]

Starts a silent TCP listener on 127.0.0.1 as the app's REDIS_URL, builds the app on a fresh
SQLite file (rate limits on), seeds two advocates and a challenge, then times through the
Flask test client: a wrong-password login, `GET /` signed in, an API submission and the API
leaderboard. Prints one line per request (first call, then the median of the rest, in ms) and
a JSON summary. The first call pays the Redis timeout once; the rest show the breaker.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path


def silent_redis() -> str:
    """A listener that accepts connections and never answers; returns its redis:// URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def build(redis_url: str, workdir: Path):
    from flask_migrate import upgrade

    from hub.app import create_app

    app = create_app(
        {
            "VOUCH_ENV": "test",
            "SECRET_KEY": "bench",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "REDIS_URL": redis_url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": True,
            "VOUCH_API_RATE_LIMIT": "100000/minute",
            "VOUCH_REDIS_NAMESPACE": "vouchbench",
        }
    )
    with app.app_context():
        upgrade()
    return app


def seed(app) -> dict:
    from challenges import services
    from hub import accounts, tokens
    from hub.extensions import db

    password = "correct horse battery"  # noqa: S105 - a bench account on a throwaway database
    with app.app_context():
        advocate = accounts.create_advocate(
            accounts.AdvocateProfile(email="bench-advocate@example.com", name="Bench Advocate"), None, password
        )
        challenge = services.create_challenge(
            services.clean_challenge({"title": "Tell us", "type": "custom", "points": 10}), None
        )
        services.publish_challenge(challenge.id, None)
        _, token = tokens.create_api_token(advocate.user, "bench", None)
        db.session.commit()
        return {
            "email": advocate.user.email,
            "password": password,
            "token": token,
            "challenge_id": challenge.id,
        }


def timed(call) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code >= 500:
        raise SystemExit(f"server error {response.status_code}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="calls per request (first + the rest)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = build(silent_redis(), Path(tmp))
        data = seed(app)
        api = {"Authorization": f"Bearer {data['token']}"}
        anonymous = app.test_client()
        browser = app.test_client()
        browser.post("/login", data={"email": data["email"], "password": data["password"]})
        submissions = iter(range(10**6))
        requests = {
            "wrong-password login": lambda: anonymous.post(
                "/login", data={"email": data["email"], "password": "wrong password"}
            ),
            "GET / (signed in)": lambda: browser.get("/"),
            "API submit": lambda: anonymous.post(
                f"/api/v1/challenges/{data['challenge_id']}/completions",
                json={"evidence_text": f"Told my team, take {next(submissions)}."},
                headers=api,
            ),
            "API leaderboard": lambda: anonymous.get("/api/v1/leaderboard?period=all", headers=api),
        }
        summary = {}
        for name, call in requests.items():
            times = [timed(call) for _ in range(args.repeat)]
            rest = statistics.median(times[1:]) if len(times) > 1 else times[0]
            summary[name] = {"first_ms": round(times[0], 1), "median_rest_ms": round(rest, 1)}
            print(f"{name:24} first {times[0]:8.1f} ms   median of the rest {rest:8.1f} ms", flush=True)
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
