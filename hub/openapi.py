"""The machine-readable OpenAPI 3 document, built from the registered JSON routes."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify

from hub.endpoints import API_PREFIX, OPENAPI_OPERATIONS

bp = Blueprint("openapi", __name__, url_prefix=API_PREFIX)

OBJECT = {"type": "object"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }
    },
}


def build_document() -> dict:
    paths: dict[str, dict] = {}
    for op in OPENAPI_OPERATIONS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op["path"])
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
            for name in re.findall(r"{(\w+)}", path)
        ]
        params += [
            {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
            for name, kind in op["query"].items()
        ]
        if op["idempotent"]:
            params.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                }
            )
        error = {"application/json": {"schema": ERROR_SCHEMA}}
        responses = {
            str(op["status"]): {"description": "Success", "content": {"application/json": {"schema": OBJECT}}},
            "401": {"description": "No or invalid token", "content": error},
            "403": {"description": "Wrong role", "content": error},
            "404": {"description": "Not found", "content": error},
            "409": {"description": "Refused by a business rule", "content": error},
            "422": {"description": "Invalid input", "content": error},
        }
        operation = {
            "operationId": op["operation_id"],
            "summary": op["summary"],
            "description": "Roles: " + ", ".join(op["roles"]),
            "tags": [op["tag"]],
            "parameters": params,
            "responses": responses,
        }
        if op["body"] is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": op["body"]}}}
        paths.setdefault(path, {})[op["method"]] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "Vouch API", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(build_document())


openapi_document.public = True  # type: ignore[attr-defined]
