"""Bonus Engine: the loyalty bonus service of the VilkiNet restaurants."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask


def create_app(test_config: Mapping[str, object] | None = None) -> Flask:
    """Build the app from the environment; `test_config` overrides settings fields."""
    from bonus_service import (
        api,
        cli,
        db,
        http,
        logs,
        metrics,
        problems,
        program,
        secrets_store,
        settings,
        sms_backend,
        web,
    )

    app = Flask(__name__, instance_relative_config=True)
    config = settings.from_environment().with_overrides(dict(test_config or {}))
    if not config.database_url:
        config = config.with_overrides(
            {"database_url": settings.default_database_url(app.instance_path)}
        )
    app.extensions["bonus_settings"] = config
    logs.init_app(app)
    metrics.init_app(app)
    http.init_app(app, config.proxy_hops, config.max_body_bytes)
    problems.init_app(app)
    secrets_store.init_app(app, config)
    db.init_app(app, config.database_url)
    program.init_app(app, config)
    sms_backend.init_app(app, config)
    api.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
