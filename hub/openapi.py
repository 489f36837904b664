"""The machine-readable OpenAPI document at `GET /api/v1/openapi.json`: spectree's, built from the
models each `endpoint` validates and replies with (bodies, query strings, replies, errors)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from hub.endpoints import API_PREFIX, api_spec

bp = Blueprint("openapi", __name__, url_prefix=API_PREFIX)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(api_spec.spec)


openapi_document.public = True  # type: ignore[attr-defined]
