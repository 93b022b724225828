"""The HTTP API: one flask-smorest Blueprint per resource; the OpenAPI spec falls out of them."""

from __future__ import annotations

from flask import Flask, request, send_from_directory
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from swagger_ui_bundle import swagger_ui_path

from bonus_service.api.spec_docs import ContractDocs, ProblemOut, amount_properties
from bonus_service.fields import Phone
from bonus_service.http import JsonBodyParser
from bonus_service.problems import problem_response
from bonus_service.web import pages

SmorestBlueprint.ARGUMENTS_PARSER = JsonBodyParser()


class BonusApi(Api):
    """flask-smorest's Api answering every error as problem+json."""

    ERROR_SCHEMA = ProblemOut

    def handle_http_exception(self, error):
        if pages.is_page(request.path):  # e.g. PUT /cabinet: refused while routing
            return pages.error_page(error)
        return problem_response(error)


SECURITY_SCHEMES = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A channel client's API key. A client (an integration: `site`, "
        "`cafe-pos-12`) may hold several keys at once, so a key rotates without downtime; its "
        "orders and Idempotency-Keys belong to the client, whichever of its keys calls.",
    },
    "guestToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A guest's token from POST /v1/auth/verify.",
    },
}


def init_app(app: Flask) -> None:
    from bonus_service.api import (
        adjustments,
        auth,
        checkout,
        guests,
        health,
        me,
        metrics,
        programs,
        reports,
        rules,
        zones,
    )

    app.config.update(
        API_TITLE="Bonus Engine",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/static/",
    )
    api = BonusApi(
        app,
        spec_kwargs={
            "components": {"securitySchemes": SECURITY_SCHEMES},
            "extra_plugins": [ContractDocs()],
        },
    )
    api.ma_plugin.converter.add_attribute_function(amount_properties)
    api.register_field(Phone, "string", "phone")  # any common format; stored as E.164
    app.url_map.converters["order_id"] = checkout.OrderIdConverter
    api.register_converter(checkout.OrderIdConverter, checkout.order_id_schema)
    for module in (health, auth, me, guests, adjustments, checkout, zones, rules, programs, reports,
                   metrics):
        api.register_blueprint(module.blp)
    app.add_url_rule(
        "/docs/static/<path:filename>",
        "swagger_static",
        lambda filename: send_from_directory(swagger_ui_path, filename),
    )
    app.extensions["bonus_api"] = api
