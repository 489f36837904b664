"""The I/O floor: the least a request that reads the database and Redis can cost.

One primary-key SELECT through SQLAlchemy (psycopg 3, the engine options Vouch's configuration
gives — pool size, pre-ping, timeouts) and one Redis GET (Vouch's client options) per request,
served by bench/run.py under the same gunicorn settings as Vouch and the bare app. An endpoint
that reads PostgreSQL and Redis cannot beat it; issue 22 measured it at 0.30–0.45× bare.

The SELECT runs outside a transaction (autocommit: no BEGIN/COMMIT round trips) on the
`users` table, cycling over the first 1,000 ids.
"""

from __future__ import annotations

import itertools

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

from hub.config import load_config
from hub.redis_client import make_client

config = load_config()
engine = create_engine(
    config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT", **config["SQLALCHEMY_ENGINE_OPTIONS"]
)
redis = make_client(config["REDIS_URL"], float(config["VOUCH_REDIS_TIMEOUT"]))
KEY = f"{config['VOUCH_REDIS_NAMESPACE']}:bench:io-floor"
_ids = itertools.cycle(range(1, 1001))

app = Flask(__name__)


@app.get("/")
def floor():
    """One SELECT by primary key and one GET; answers {"id", "cached"}."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, email FROM users WHERE id = :id"), {"id": next(_ids)}).first()
    cached = redis.get(KEY)
    return jsonify(id=row[0] if row else None, cached=cached is not None)
