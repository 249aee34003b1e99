"""Small builders so each fragment reads like a table of routes."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def op(
    summary: str,
    *,
    tag: str,
    body: dict[str, Any] | None = None,
    ok: int = 200,
    returns: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (400, 401, 503),
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if returns is None:
        responses[str(ok)] = {"description": "done"}
    else:
        responses[str(ok)] = {"description": "done", "content": json_content(returns)}
    for code in errors:
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    out: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if body is not None:
        out["requestBody"] = {"required": True, "content": json_content(body)}
    if params:
        out["parameters"] = params
    return out


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def query_param(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def stored(input_schema: str) -> dict[str, Any]:
    """A stored object: its input schema plus the id and timestamps the store adds."""
    string, integer = {"type": "string"}, {"type": "integer"}
    return {
        "allOf": [
            ref(input_schema),
            {
                "type": "object",
                "required": ["id", "created_at", "updated_at"],
                "properties": {"id": string, "created_at": integer, "updated_at": integer},
            },
        ]
    }


def items_of(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": schema}},
    }
