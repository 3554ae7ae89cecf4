"""Request bodies checked against Google's own Sheets API discovery document (`sheets.v4.json`).

The document ships with google-api-python-client (a dev dependency for this only). A body is
walked along the schemas its method names: every field must exist, enums must hold one of their
values, types must match, and no field may be one the document marks deprecated.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import googleapiclient


@functools.cache
def document() -> dict[str, Any]:
    folder = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    loaded: dict[str, Any] = json.loads((folder / "sheets.v4.json").read_text(encoding="utf-8"))
    return loaded


def request_schema(api: str) -> str:
    """The schema of the request body of `spreadsheets.batchUpdate` or `values.batchUpdate`."""
    resources = document()["resources"]["spreadsheets"]
    if api == "spreadsheets.batchUpdate":
        method = resources["methods"]["batchUpdate"]
    elif api == "values.batchUpdate":
        method = resources["resources"]["values"]["methods"]["batchUpdate"]
    else:
        raise ValueError(f"no request body schema for {api}")
    return str(method["request"]["$ref"])


_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def problems(body: Any, schema: str) -> list[str]:
    """Everything in `body` the discovery document does not allow (empty when it is clean)."""
    found: list[str] = []
    _check(body, {"$ref": schema}, schema, found)
    return found


def _check(value: Any, spec: dict[str, Any], path: str, found: list[str]) -> None:
    schemas = document()["schemas"]
    if "$ref" in spec:
        spec = {**schemas[spec["$ref"]], **{k: v for k, v in spec.items() if k != "$ref"}}
    if spec.get("deprecated"):
        found.append(f"{path}: deprecated ({spec.get('description', '')[:80]})")
    kind = spec.get("type")
    if kind == "any":
        return
    if kind == "object" and "properties" in spec:
        if not isinstance(value, dict):
            found.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        for key, item in value.items():
            field = spec["properties"].get(key)
            if field is None:
                found.append(f"{path}.{key}: no such field")
            else:
                _check(item, field, f"{path}.{key}", found)
    elif kind == "object" and "additionalProperties" in spec:
        for key, item in value.items():
            _check(item, spec["additionalProperties"], f"{path}.{key}", found)
    elif kind == "array":
        if not isinstance(value, list):
            found.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for index, item in enumerate(value):
            _check(item, spec.get("items", {"type": "any"}), f"{path}[{index}]", found)
    elif kind in _TYPES:
        if kind == "string" and spec.get("format") in ("int64", "google-duration"):
            return
        if not isinstance(value, _TYPES[kind]) or (kind != "boolean" and isinstance(value, bool)):
            found.append(f"{path}: expected {kind}, got {value!r}")
        elif "enum" in spec and value not in spec["enum"]:
            found.append(f"{path}: {value!r} is not one of {spec['enum']}")
