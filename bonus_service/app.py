"""The composition root: the Flask app built from its parts (`create_app`).

It lives apart from the package's `__init__`, so that importing any module of the service
(a service verb, the ledger, a job) loads nothing of the web stack.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask


def create_app(test_config: Mapping[str, object] | None = None) -> Flask:
    """Build the app from the environment; `test_config` overrides settings fields."""
    from bonus_service import (
        api,
        app_db,
        cli,
        http,
        jobs_cli,
        logs,
        metrics,
        problems,
        program,
        secrets_store,
        settings,
        sms_backend,
        web,
    )

    # "bonus_service", not this module's name: the root and instance paths and the logger's
    # name are the package's, as they were when the factory lived in its __init__
    app = Flask("bonus_service", instance_relative_config=True)
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
    app_db.init_app(app, config.database_url)
    program.init_app(app, config)
    sms_backend.init_app(app, config)
    api.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    jobs_cli.init_app(app)
    return app
