"""Check a request body against an operation's requestBody schema in a vendor's OpenAPI spec.

Used by the connector tests (what we send must fit the official spec) and by the emulators in
strict mode (what they accept is what the spec allows). `jsonschema` is deliberately not a
dependency: this covers only the subset of JSON Schema the vendor specs we touch use —
`$ref` inside the same file, `type`, `nullable`, `enum`, `properties`, `required`, `items`
and `additionalProperties`. Keywords outside that subset are ignored, never guessed.

Specs are looked up in `$ERPINTEGR_VENDOR_SPECS/<vendor>/<name>.json`, then in the
`shared/vendor-specs/` folder next to the repository (how the team keeps them today).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

SPECS_ENV = "ERPINTEGR_VENDOR_SPECS"
_REPO_ROOT = Path(__file__).resolve().parents[1]
_DEFAULT_DIRS = (_REPO_ROOT / "vendor-specs", _REPO_ROOT.parent / "shared" / "vendor-specs")


class SpecNotFound(FileNotFoundError):
    pass


class SchemaViolation(ValueError):
    """The body does not fit the schema; `errors` lists every problem with its JSON path."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def spec_path(vendor: str, name: str) -> Path | None:
    candidates = [Path(os.environ[SPECS_ENV])] if os.environ.get(SPECS_ENV) else []
    candidates.extend(_DEFAULT_DIRS)
    for base in candidates:
        path = base / vendor / f"{name}.json"
        if path.is_file():
            return path
    return None


def specs_available(vendor: str, names: tuple[str, ...]) -> bool:
    return all(spec_path(vendor, name) is not None for name in names)


@cache
def load_spec(vendor: str, name: str) -> dict:
    path = spec_path(vendor, name)
    if path is None:
        raise SpecNotFound(
            f"OpenAPI spec {vendor}/{name}.json not found; set {SPECS_ENV} to the folder that "
            f"holds <vendor>/<name>.json (looked in {', '.join(str(d) for d in _DEFAULT_DIRS)})."
        )
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def operation(spec: dict, method: str, path: str) -> dict:
    """The operation object for `method` on the path template `path` (as written in the spec)."""
    try:
        return spec["paths"][path][method.lower()]
    except KeyError:
        raise KeyError(f"the spec has no operation {method.upper()} {path}") from None


def request_body_schema(
    spec: dict, method: str, path: str, content_type: str = "application/json"
) -> dict | None:
    body = operation(spec, method, path).get("requestBody")
    if body is None:
        return None
    body = resolve(spec, body)
    media = body.get("content", {}).get(content_type)
    return None if media is None else media.get("schema")


def resolve(spec: dict, node: Any) -> Any:
    """Follow local `$ref`s (`#/components/...`) until a real node is reached."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"unsupported or circular $ref {ref!r}")
        seen.add(ref)
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    # bool is an int subclass in Python; JSON keeps them apart.
    "integer": lambda v: (
        isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def validate(instance: Any, schema: dict, spec: dict, where: str = "$") -> list[str]:
    """Every way `instance` breaks `schema`, as "path: problem" strings (empty when valid)."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict):
        return []
    if instance is None and schema.get("nullable"):
        return []
    expected = schema.get("type")
    if expected is not None:
        types = expected if isinstance(expected, list) else [expected]
        if not any(_TYPE_CHECKS.get(t, lambda v: True)(instance) for t in types):
            return [f"{where}: expected {'/'.join(types)}, got {_json_type(instance)}"]
    errors: list[str] = []
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{where}: {instance!r} is not one of {schema['enum']}")
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in instance:
                errors.append(f"{where}: required property {name!r} is missing")
        extra = schema.get("additionalProperties", True)
        for name, value in instance.items():
            if name in properties:
                errors.extend(validate(value, properties[name], spec, f"{where}.{name}"))
            elif extra is False:
                errors.append(f"{where}: property {name!r} is not allowed")
            elif isinstance(extra, dict):
                errors.extend(validate(value, extra, spec, f"{where}.{name}"))
    if isinstance(instance, list) and "items" in schema:
        for index, value in enumerate(instance):
            errors.extend(validate(value, schema["items"], spec, f"{where}[{index}]"))
    return errors


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPE_CHECKS[name](value):
            return name
    return type(value).__name__


def validate_request_body(vendor: str, name: str, method: str, path: str, body: Any) -> list[str]:
    """Problems of `body` against the requestBody of METHOD path (a template of spec `name`)."""
    spec = load_spec(vendor, name)
    schema = request_body_schema(spec, method, path)
    if schema is None:
        if body is None:
            return []
        return [f"{method.upper()} {path} takes no JSON request body in {vendor}/{name}"]
    return validate(body, schema, spec)


def check_request_body(vendor: str, name: str, method: str, path: str, body: Any) -> None:
    """Raise SchemaViolation when `body` does not fit the operation's requestBody schema."""
    errors = validate_request_body(vendor, name, method, path, body)
    if errors:
        raise SchemaViolation(errors)
