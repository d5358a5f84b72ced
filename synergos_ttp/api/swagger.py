"""JSON Schema (draft 2020-12, what the APIs validate with) as Swagger 2.0 documents it.

The request bodies and records are declared once, in JSON Schema; flask-restx serves a
Swagger 2.0 document, which has no type lists, `const`, `anyOf` or numeric exclusive bounds.
"""

from __future__ import annotations

from typing import Any

_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_VALUES = ("items", "additionalProperties")
_EXCLUSIVE = (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum"))


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a schema document with every `#/$defs/<name>` reference replaced by its
    definition and `$defs` dropped (a Swagger model cannot point into another document)."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return resolve(definitions[reference.removeprefix("#/$defs/")])
        return {key: resolve(value) for key, value in node.items() if key != "$defs"}

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def swagger_schema(schema: Any) -> Any:
    """A copy of `schema` in the Swagger 2.0 subset: `["T", "null"]` -> `T` + `x-nullable`,
    `const` -> a one-value `enum`, numeric exclusive bounds -> boolean ones, and `anyOf`
    (which Swagger cannot say) -> any value, nullable when one option is null."""
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for name, value in schema.items():
        if name in ("$schema", "$id"):
            continue
        if name in _SCHEMA_MAPS and isinstance(value, dict):
            converted[name] = {key: swagger_schema(item) for key, item in value.items()}
        elif name in _SCHEMA_VALUES:
            converted[name] = swagger_schema(value)
        else:
            converted[name] = value
    kinds = converted.get("type")
    if isinstance(kinds, list):
        concrete = [kind for kind in kinds if kind != "null"]
        if len(concrete) != len(kinds):
            converted["x-nullable"] = True
        if len(concrete) == 1:
            converted["type"] = concrete[0]
        else:
            del converted["type"]
    if "const" in converted:
        converted["enum"] = [converted.pop("const")]
    for exclusive, inclusive in _EXCLUSIVE:
        bound = converted.get(exclusive)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            converted[inclusive] = bound
            converted[exclusive] = True
    for combinator in ("anyOf", "oneOf"):
        options = converted.pop(combinator, None)
        if isinstance(options, list) and {"type": "null"} in options:
            converted["x-nullable"] = True
    return converted
