"""Unbound Flask extensions; create_app binds them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import request
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from hub.db import Base
from hub.rate_limits import VouchLimiter


def client_ip() -> str:
    """The client address; ProxyFix (when proxies are trusted) has already rewritten it."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)

# The models' base class. At run time it is `db.Model` (Base with Flask-SQLAlchemy's bind and
# table-name mixins); mypy cannot take an instance attribute as a base class, so the type
# checker sees Base, whose mapping (Mapped[] columns, registry) the models actually use.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = VouchLimiter(key_func=client_ip, default_limits=[])
