"""Another process serving the API feed (the other side of a per-process cache's tests): it
builds its own app on the same PostgreSQL database and Redis, and answers each `seen()` with the
feed it serves at that moment."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {root!r})
    from tests.support.environment import build_app
    app = build_app({pg_url!r}, REDIS_URL={redis_url!r})
    client = app.test_client()
    fields = {fields!r}
    for line in sys.stdin:
        reply = client.get("/api/v1/challenges", headers={{"Authorization": "Bearer " + {token!r}}})
        said = {{i["title"]: [i[f] for f in fields] for i in reply.get_json()["items"]}}
        print(json.dumps(said), flush=True)
    """
)


@contextmanager
def feed_in_another_process(
    pg_url: str, redis_url: str, token: str, fields: tuple[str, ...]
) -> Iterator[Callable[[], dict[str, list[Any]]]]:
    """Start the other process for the advocate of `token`; yields `seen()`: the feed it serves
    now, per challenge title the list of the item's `fields`. The process ends on leaving."""
    script = _SCRIPT.format(root=str(ROOT), pg_url=pg_url, redis_url=redis_url, token=token, fields=list(fields))
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT)
    )
    assert process.stdin is not None and process.stdout is not None

    def seen() -> dict[str, list[Any]]:
        process.stdin.write("go\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        return dict(json.loads(process.stdout.readline()))  # type: ignore[union-attr]

    try:
        yield seen
    finally:
        process.stdin.close()
        process.wait(timeout=60)
        process.stdout.close()
