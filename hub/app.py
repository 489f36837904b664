"""The application factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Request, abort, g, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, ValidationError

from hub.config import ROOT, load_config
from hub.contracts import add_query_notice
from hub.db import install_postgres_connection_handling, install_sqlite_begin_immediate, write_intent
from hub.errors import ValidationFailed, register_error_handlers, wants_json
from hub.extensions import csrf, db, limiter, login_manager, migrate
from hub.redis_stamps import StampedRedisStorage  # noqa: F401  (registers the vouch+redis:// rate-limit storage)
from hub.transactions import run_view, runs_own_transaction, session_started

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# VouchFlask.ensure_sync: how many functions' answers one app keeps.
_SYNC_FUNCTIONS_MAX = 1_000


class VouchRequest(Request):
    """Counts url-encoded form fields against MAX_FORM_PARTS too (Werkzeug counts only
    multipart parts), so a POST with thousands of fields is refused with 413; and refuses
    NUL characters, which PostgreSQL cannot store in text (400, not a database error)."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        limit = self.max_form_parts
        if limit is not None and sum(len(values) for values in self.form.listvalues()) > limit:
            self.__dict__["form"] = self.parameter_storage_class()
            raise RequestEntityTooLarge(f"A form may have at most {limit} fields.")
        if any("\x00" in value for values in self.form.listvalues() for value in values):
            self.__dict__["form"] = self.parameter_storage_class()
            raise BadRequest("Text may not contain NUL characters.")


class VouchFlask(Flask):
    """Flask whose views run inside the request's transaction boundary (hub.transactions):
    one commit when the response is a success, a rollback otherwise, and the whole view run
    again after a transient database conflict, then 503."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_functions: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's `ensure_sync`, remembered per function: Flask asks it for every request hook
        and the view on every request (about 15 times), and `inspect.iscoroutinefunction`
        costs more than the dictionary look-up (issue 22). At most `_SYNC_FUNCTIONS_MAX` are
        kept; past that (functions made per call) each is checked as Flask does."""
        try:
            return self._sync_functions[func]
        except KeyError:
            found = super().ensure_sync(func)
            if len(self._sync_functions) < _SYNC_FUNCTIONS_MAX:
                self._sync_functions[func] = found
            return found
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)

    def dispatch_request(self) -> ResponseReturnValue:
        rule = request.url_rule
        view = self.view_functions.get(rule.endpoint) if rule is not None else None
        if view is None or runs_own_transaction(view):
            return super().dispatch_request()
        return run_view(view, super().dispatch_request)


class BoundedInt(IntegerConverter):
    """`<int:…>` URL parts stop at the database's integer range: a huge id is a 404, not a
    driver overflow (500)."""

    def __init__(
        self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits, min, 2**31 - 1 if max is None else max, signed)

    def to_python(self, value: str) -> int:
        # Werkzeug's matcher counts a rule of another method as a match before converting, so a
        # refused conversion would answer 405 where /rewards/2147483648 has a PATCH rule
        # (issue 13 item 1); an id past the column's range names no row: 404.
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


def create_app(overrides: dict | None = None) -> Flask:
    app = VouchFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.url_map.converters["int"] = BoundedInt
    app.config.update(load_config(overrides))
    from hub.health import init_ops
    from hub.logs import init_request_logging

    init_request_logging(app)  # first request hook: times and logs every request, refused ones too

    if app.config["VOUCH_TRUSTED_PROXIES"]:
        n = app.config["VOUCH_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from hub.uploads import allow_upload_size

    # Before CSRF (a before_request hook) reads the body: routes that take a file allow a larger one.
    app.url_value_preprocessor(allow_upload_size)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "hub" / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    app.request_class = VouchRequest
    limiter.init_app(app)
    _init_security_headers(app)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            install_sqlite_begin_immediate(db.engine)
        elif db.engine.dialect.name == "postgresql":
            install_postgres_connection_handling(db.engine)
        from hub.security import dummy_hash

        dummy_hash()  # built now, so not even the first unknown-email login pays for a hash

    from hub.queue import init_queue
    from hub.redis_client import init_redis

    init_redis(app)
    init_queue(app)
    register_error_handlers(app)
    _register_request_hooks(app)
    _install_hooks(app)
    _register_blueprints(app)
    init_ops(app)
    _register_cli(app)
    return app


def _init_security_headers(app: Flask) -> None:
    """Security headers on every response. Talisman keeps its options on the instance, so each
    app gets its own (a shared one would let the last app built decide for all of them)."""
    from hub.security_headers import KeptTalisman as Talisman

    production = app.config["VOUCH_ENV"] == "production"
    csp = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    app.extensions["talisman"] = Talisman(
        app,
        content_security_policy=csp,
        force_https=production,
        strict_transport_security=production,
        strict_transport_security_max_age=31536000,
        session_cookie_secure=production,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        x_content_type_options=True,
    )


def _register_request_hooks(app: Flask) -> None:
    from hub import accounts

    @login_manager.user_loader
    def _load_user(session_id: str):
        return accounts.user_for_session(session_id)

    login_manager.login_view = "hub.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"

    @app.before_request
    def _begin() -> None:
        # Per-request caches live on `g`; an app context that outlives one request (tests,
        # CLI) must not carry a previous request's user or settings into the next.
        per_request = ("api_user", "api_caller", "vouch_settings", "_login_user")
        for key in (*per_request, app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")):
            g.pop(key, None)
        if "\x00" in request.path:
            abort(400, "Text may not contain NUL characters.")
        _drop_nul_query_parameters()
        write_intent.set(request.method not in SAFE_METHODS)

    @app.after_request
    def _finish(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if request.headers.get("HX-Request"):
            response.vary.add("HX-Request")
        return response

    @app.teardown_request
    def _end_request(_exc) -> None:
        # End whatever transaction the request left open (an error page, a hook before the
        # view): a lingering SQLite read snapshot would make the next write on this session fail.
        if session_started() and db.session().in_transaction():
            db.session.rollback()
        write_intent.set(True)


NUL_IN_QUERY = "Text may not contain NUL characters."


def _drop_nul_query_parameters() -> None:
    """Query parameters holding a NUL character (PostgreSQL cannot store or compare it) are a
    field error like any other: the API answers 422 naming them (api.md "Validation"); a page
    leaves them out and says so inline, as it does for any parameter that does not fit (issue 17:
    never a 400 page for a query string)."""
    bad = [key for key, values in request.args.lists() if "\x00" in key or any("\x00" in v for v in values)]
    if not bad:
        return
    shown = [key.replace("\x00", "\\0") for key in bad]
    if wants_json():
        raise ValidationFailed(dict.fromkeys(shown, NUL_IN_QUERY))
    kept = [(key, value) for key, value in request.args.items(multi=True) if key not in bad]
    request.args = ImmutableMultiDict(kept)  # werkzeug caches args per request: this request reads these
    for key in shown:
        add_query_notice(f"“{key}” was not used: {NUL_IN_QUERY}")


def _register_blueprints(app: Flask) -> None:
    import hub.email.mailings  # noqa: F401  (connects the completion_approved → thank-you receiver)
    from admin.views import bp as admin_bp
    from challenges.accounts.api import bp as accounts_api
    from challenges.api import bp as challenges_api
    from challenges.crm.api import bp as crm_api
    from challenges.crm.views import bp as crm_views
    from challenges.prospects.api import bp as prospects_api
    from challenges.prospects.views import bp as prospects_views
    from challenges.references.api import bp as references_api
    from challenges.references.views import bp as references_views
    from challenges.referrals.api import bp as referrals_api
    from challenges.referrals.views import bp as referrals_views
    from challenges.simulations import bp as challenges_simulation_api
    from challenges.views import bp as challenges_views
    from hub.api import bp as hub_api
    from hub.community.api import bp as community_api
    from hub.community.views import bp as community_views
    from hub.email.views import bp as email_views
    from hub.notifications_api import bp as notifications_api
    from hub.openapi import bp as openapi_bp
    from hub.people_api import bp as people_api
    from hub.views import bp as hub_views
    from rewards.api import bp as rewards_api
    from rewards.settings_api import bp as rewards_settings_api
    from rewards.views import bp as rewards_views

    for blueprint in (
        hub_views,
        hub_api,
        people_api,
        openapi_bp,
        community_views,
        community_api,
        notifications_api,
        email_views,
        rewards_api,
        rewards_settings_api,
        challenges_simulation_api,
        rewards_views,
        challenges_api,
        challenges_views,
        references_api,
        referrals_api,
        crm_api,
        accounts_api,
        prospects_api,
        prospects_views,
        references_views,
        referrals_views,
        crm_views,
        admin_bp,
    ):
        app.register_blueprint(blueprint)

    from hub.htmx import register_template_helpers

    register_template_helpers(app)


def _install_hooks(app: Flask) -> None:
    """The app's extension points (hub.hooks), filled by hub, then each package in layer order."""
    from admin.hooks import install as install_admin
    from challenges.hooks import install as install_challenges
    from hub.community.demo import seed_community
    from hub.email.mailings import periodic_jobs as email_periodic_jobs
    from hub.hooks import PeriodicJob, init_hooks
    from hub.import_runs import sweep_stale_imports_job
    from hub.privacy import HUB_PERSONAL_DATA
    from rewards.hooks import install as install_rewards

    registry = init_hooks(app)
    registry.personal_data.append(HUB_PERSONAL_DATA)
    registry.demo_seeders.append(seed_community)
    registry.periodic_jobs.extend(email_periodic_jobs())
    registry.periodic_jobs.append(PeriodicJob(sweep_stale_imports_job, "hub sweep-imports", interval=300))
    install_rewards(app)
    install_challenges(app)
    install_admin(app)


def _register_cli(app: Flask) -> None:
    from challenges.cli import challenges_cli
    from hub.cli import hub_cli, tokens_cli, users_cli
    from rewards.cli import rewards_cli

    for group in (users_cli, tokens_cli, hub_cli, rewards_cli, challenges_cli):
        app.cli.add_command(group)
