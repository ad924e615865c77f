"""mel_app: participatory monitoring, evaluation and learning for ACTRAV projects."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_login import current_user

from mel_app.extensions import babel, csrf, db, login_manager, migrate

__version__ = "0.1.0"


def create_app(config: Any = None, **overrides: Any) -> Flask:
    """Build the application. `config` is a config class (default: chosen by MEL_CONFIG)."""
    from mel_app.config import INSTANCE_DIR, config_from_env

    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(shipped_dir("templates")),
        static_folder="static",
    )
    from mel_app.integers import BoundedIntegerConverter
    from mel_app.security import InputRequest, init_form_input

    app.request_class = InputRequest
    init_form_input(app)
    # Before any route is added: every <int:…> then stops at the database's integer range.
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.config.from_object(config or config_from_env())
    app.config.update(overrides)
    _check_config(app)
    if app.config.get("PROXY_FIX_X_FOR"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind the reverse proxy: the client's address (sign-in throttling) and https.
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    _init_extensions(app)
    from mel_app.compression import init_compression

    # Registered first so that it runs last: it compresses the body every other hook has finished.
    init_compression(app)
    if app.config.get("BENCH"):
        from mel_app.bench_hooks import init_bench

        init_bench(app)  # first, so its query count is the last thing added to a response
    _register_blueprints(app)
    _register_request_hooks(app)

    from mel_app.errors import register_error_handlers
    from mel_app.log import init_logging
    from mel_app.security import init_security_headers
    from mel_app.templating import init_templating

    init_logging(app)
    register_error_handlers(app)
    init_security_headers(app)
    init_templating(app)

    from mel_app.error_summary import init_error_summary

    init_error_summary(app)

    from mel_app.assets import init_assets

    init_assets(app)

    from mel_app.cli import register_cli

    register_cli(app)
    return app


def shipped_dir(name: str) -> Path:
    """templates/ or migrations/: inside the package when installed from the wheel (pyproject.toml
    maps them there), at the top of the repository in a checkout. Never relative to the current
    directory, so the application runs from anywhere."""
    package = Path(__file__).resolve().parent
    installed = package / name
    return installed if installed.is_dir() else package.parent / name


def _check_config(app: Flask) -> None:
    if app.config.get("NAME") == "production":
        secret = app.config.get("SECRET_KEY") or ""
        if len(secret) < 32:
            raise SystemExit(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        if app.config.get("DEBUG"):
            raise SystemExit("DEBUG must be off in production.")
        problem = public_base_url_problem(app.config.get("PUBLIC_BASE_URL") or "")
        if problem:
            raise SystemExit(problem)
    if app.config.get("EVIDENCE_SCANNER"):
        from mel_app.submissions.scanning import ScannerConfigError, load_scanner

        # A scanner that cannot be loaded would refuse every file: say so at start-up instead.
        try:
            load_scanner(app.config["EVIDENCE_SCANNER"].strip())
        except ScannerConfigError as exc:
            raise SystemExit(str(exc)) from None
    _check_redis(app.config.get("RATELIMIT_STORAGE_URI") or "")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        import os

        os.makedirs(app.instance_path, exist_ok=True)


def _check_redis(url: str) -> None:
    """Redis is an optional extra: when the settings ask for it, it must be installed, which is
    said at start-up rather than by a failure at the first sign-in."""
    import importlib.util

    from mel_app.auth.throttle import uses_redis

    if uses_redis(url) and importlib.util.find_spec("redis") is None:
        raise SystemExit(
            "RATELIMIT_STORAGE_URI asks for Redis but the redis package is not installed: "
            "install mel_app with the redis extra (pip install 'mel_app[redis]'), or leave "
            "RATELIMIT_STORAGE_URI empty to count failed sign-ins in the database."
        )


def public_base_url_problem(value: str) -> str | None:
    """Why PUBLIC_BASE_URL cannot be used in production, or None.

    Links in emails are built on it. Without it they would follow the Host header of the request
    that asked for them, so anyone could have a reset link for someone else's account mailed with
    their own site's address in it (and read the token when it is clicked).
    """
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
        return (
            "PUBLIC_BASE_URL must be set in production to the address people use, with https and "
            "no path (e.g. https://mel.example.org): the links in emails are built on it, never on "
            "the Host header of the request."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        return "PUBLIC_BASE_URL must be a plain https address without user, query or fragment."
    return None


def _init_extensions(app: Flask) -> None:
    from mel_app import audit
    from mel_app.db_setup import configure_engine_events

    db.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine, sqlite_wal=app.config.get("SQLITE_WAL", False))
    audit.install()
    migrate.init_app(
        app, db, directory=str(shipped_dir("migrations")), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)

    from mel_app.dates import select_timezone
    from mel_app.i18n import select_locale

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # sessions are server-side and revocable instead

    from mel_app.auth.sessions import load_user_from_session_key

    login_manager.user_loader(load_user_from_session_key)

    from mel_app import notifications

    notifications.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from mel_app.account.views import bp as account_bp
    from mel_app.admin import criteria_views as _criteria_views  # noqa: F401 - admin pages
    from mel_app.admin import views as _admin_views  # noqa: F401 - admin pages
    from mel_app.admin.blueprint import bp as admin_bp
    from mel_app.audit.views import bp as audit_bp
    from mel_app.auth.views import bp as auth_bp
    from mel_app.evaluations.views import bp as evaluations_bp
    from mel_app.exports.views import bp as exports_bp
    from mel_app.main.views import bp as main_bp
    from mel_app.members.views import bp as members_bp
    from mel_app.notifications import admin_views as _outbox_views  # noqa: F401 - admin pages
    from mel_app.notifications.views import bp as notifications_bp
    from mel_app.printing.views import bp as printing_bp
    from mel_app.projects import framework_views as _framework_views  # noqa: F401 - project pages
    from mel_app.projects import outcome_views as _outcome_views  # noqa: F401 - project pages
    from mel_app.projects import period_views as _period_views  # noqa: F401 - project pages
    from mel_app.projects import round_views as _round_views  # noqa: F401 - project and admin pages
    from mel_app.projects import spreadsheet_views as _spreadsheet_views  # noqa: F401 - project pages
    from mel_app.projects import story_views as _story_views  # noqa: F401 - project pages
    from mel_app.projects import views as _project_views  # noqa: F401 - project pages
    from mel_app.projects.blueprint import bp as projects_bp
    from mel_app.public.views import bp as public_bp
    from mel_app.submissions.views import bp as submissions_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(evaluations_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(members_bp)
    app.register_blueprint(projects_bp)
    app.register_blueprint(submissions_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(printing_bp)
    app.register_blueprint(public_bp)

    from mel_app.api.views import init_api

    init_api(app)


# Endpoints anyone may reach without signing in; everything else needs a session.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "main.healthz", "static"})
# The only pages open to someone whose role requires two-factor sign-in and who has not set it
# up yet (signing out is public).
TWO_FACTOR_SETUP_ENDPOINTS = frozenset(
    {"account.two_factor", "account.two_factor_start", "account.two_factor_setup"}
)


def _register_request_hooks(app: Flask) -> None:
    from flask import redirect, url_for

    from mel_app import audit
    from mel_app.api.problems import is_api_request
    from mel_app.permissions import must_enrol_two_factor

    @app.before_request
    def require_login_and_set_actor():
        endpoint = request.endpoint or ""
        if endpoint == "static":
            return None  # no session lookup for stylesheets
        public = endpoint in PUBLIC_ENDPOINTS or getattr(app.view_functions.get(endpoint), "is_public", False)
        if is_api_request():
            return None  # no session: the API authenticates each request by its token alone
        audit.set_actor(db.session(), audit.actor_of(current_user, request.remote_addr))
        if not public and not current_user.is_authenticated:
            from mel_app.submissions.stash import keep_expired_post

            # A report sent after the session timed out is kept for its author, not dropped.
            return keep_expired_post() or login_manager.unauthorized()
        g.is_public_endpoint = public
        if not public and must_enrol_two_factor(current_user):
            g.must_enrol_two_factor = True  # the layout hides the navigation
            if endpoint not in TWO_FACTOR_SETUP_ENDPOINTS:
                return redirect(url_for("account.two_factor"))
        return None

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
