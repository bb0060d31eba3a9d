"""Structural-schema handling of custom objects: defaulting, pruning and (optional) validation.

`emulator.store` calls `prepare()` on every create/update of a custom object, in the order a real
server uses: apply `default`s, prune fields the schema does not declare (unless
`x-kubernetes-preserve-unknown-fields`), then validate. The pruned paths are reported so the server
can honour `?fieldValidation=Strict|Warn|Ignore` like kube-apiserver (`strict_error()`). Validation
needs the optional `jsonschema` package; without it objects are only defaulted and pruned.
`x-kubernetes-int-or-string` means integer or string, `nullable` allows null, other `x-kubernetes-*` keys are ignored.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fluxcd_helm_upgrader.testkit.emulator import errors

try:  # Optional: a runtime install (the demo) may lack it; tests always have it.
    import jsonschema
except ImportError:  # pragma: no cover - exercised only where jsonschema is missing
    jsonschema = None

# Where the object schema never reaches: the server owns these fields.
_ROOT_KEPT = ("apiVersion", "kind", "metadata")
# metav1.ObjectMeta's fields: anything else under metadata is an unknown field, dropped like the real decoder does.
OBJECT_META_FIELDS = frozenset(
    (
        "annotations", "creationTimestamp", "deletionGracePeriodSeconds", "deletionTimestamp", "finalizers",
        "generateName", "generation", "labels", "managedFields", "name", "namespace", "ownerReferences",
        "resourceVersion", "selfLink", "uid",
    )
)  # fmt: skip


def _default_and_prune(schema: dict[str, Any], value: Any, path: str = "", unknown: list[str] | None = None) -> Any:
    """Apply defaults and drop undeclared fields; each dropped field's path goes to `unknown` (`spec.a[0].b`)."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        properties: dict[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, sub in properties.items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or additional not in (None, False)
        for key in list(value):
            child = f"{path}.{key}" if path else key
            if key in properties:
                value[key] = _default_and_prune(properties[key], value[key], child, unknown)
            elif isinstance(additional, dict):
                value[key] = _default_and_prune(additional, value[key], child, unknown)
            elif not keep_unknown and (properties or schema.get("type") == "object"):
                del value[key]
                if unknown is not None:
                    unknown.append(child)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_default_and_prune(schema["items"], item, f"{path}[{i}]", unknown) for i, item in enumerate(value)]
    return value


def _to_jsonschema(schema: Any) -> Any:
    """Translate an OpenAPI v3 structural schema into JSON Schema (draft 7) for `jsonschema`."""
    if isinstance(schema, list):
        return [_to_jsonschema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "default", "format", "example"):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            result[key] = {name: _to_jsonschema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            result[key] = _to_jsonschema(value)
        else:
            result[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        result.pop("type", None)
        result = {"anyOf": [{"type": "integer"}, {"type": "string"}], **result}
    if schema.get("nullable") and isinstance(result.get("type"), str):
        result["type"] = [result["type"], "null"]
    return result


def _validate(kind: str, group: str, name: str, schema: dict[str, Any], obj: dict[str, Any]) -> None:
    if jsonschema is None:  # pragma: no cover
        return
    translated = _to_jsonschema(schema)
    properties = translated.setdefault("properties", {})
    properties["metadata"] = {"type": "object"}  # validated by the server itself, not the CRD
    validator = jsonschema.Draft7Validator(translated)
    causes = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        field = (
            ".".join(str(part) if not isinstance(part, int) else f"[{part}]" for part in error.absolute_path).replace(
                ".[", "["
            )
            or "<root>"
        )
        causes.append((field, f"Invalid value: {json.dumps(error.instance)[:80]}: {error.message}"))
    if causes:
        raise errors.invalid(kind, group, name, causes)


def prepare(
    kind: str, group: str, schema: dict[str, Any] | None, obj: dict[str, Any], unknown: list[str] | None = None
) -> dict[str, Any]:
    """Default, prune and validate `obj` in place against a CRD's openAPIV3Schema; returns `obj`.

    The paths of pruned fields (and of fields ObjectMeta does not have) are appended to `unknown`, sorted,
    for `?fieldValidation=` (see `strict_error`)."""
    if not schema:
        return obj
    name = (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName", "")
    # Set aside what the server owns so that defaulting and pruning never touch it.
    kept = {key: obj.pop(key) for key in _ROOT_KEPT if key in obj}
    found: list[str] = []
    _default_and_prune(schema, obj, "", found)
    metadata = kept.get("metadata")
    if isinstance(metadata, dict):
        for key in [key for key in metadata if key not in OBJECT_META_FIELDS]:
            del metadata[key]
            found.append(f"metadata.{key}")
    if unknown is not None:
        unknown.extend(sorted(found))
    obj.update(kept)
    _validate(kind, group, name, schema, obj)
    return obj


def strict_error(kind: str, version: str, unknown: list[str], *, patch: bool) -> errors.ApiError:
    """kube-apiserver's answer to unknown fields under `fieldValidation=Strict` (400 BadRequest).

    Create and update go through transformDecodeError (`X in version "v" cannot be handled as a X: ...`);
    a patch reports the strict decoding error alone."""
    text = "strict decoding error: " + ", ".join(f'unknown field "{path}"' for path in unknown)
    if patch:
        return errors.bad_request(text)
    return errors.bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: {text}')
