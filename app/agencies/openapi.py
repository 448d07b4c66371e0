"""The agency event schemas in /openapi.json, generated from the catalogue (one source)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from app.agencies.catalogue import CATALOGUE

REF = "#/components/schemas/{model}"


def event_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """(request body schema: oneOf one envelope per event type, component schemas)."""
    models = sorted({spec.schema for spec in CATALOGUE.values()}, key=lambda m: m.__name__)
    refs, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    components = dict(top.get("$defs", {}))
    envelopes = []
    for event_type, spec in sorted(CATALOGUE.items()):
        name = "Event_" + event_type.replace(".", "_")
        components[name] = {
            "type": "object",
            "title": event_type,
            "required": ["type", "occurred_at", "crime_reference", "data"],
            "properties": {
                "type": {"type": "string", "enum": [event_type]},
                "occurred_at": {"type": "string", "format": "date-time",
                                "description": "RFC 3339 with offset"},
                "crime_reference": {"type": "string", "minLength": 1, "maxLength": 64},
                "data": refs[(spec.schema, "validation")],
            },
        }
        envelopes.append({"$ref": REF.format(model=name)})
    body = {"oneOf": envelopes, "discriminator": {"propertyName": "type"}}
    return body, components


def add_event_schemas(openapi: dict[str, Any], path: str) -> dict[str, Any]:
    body, components = event_schemas()
    openapi.setdefault("components", {}).setdefault("schemas", {}).update(components)
    operation = openapi["paths"][path]["post"]
    operation["requestBody"] = {"required": True,
                                "content": {"application/json": {"schema": body}}}
    return openapi
