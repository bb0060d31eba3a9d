"""PATCH bodies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902), with kube-apiserver's errors.

Called by `emulator.store.Store.patch`. Both functions return a new document and never mutate
their input (stored objects are shared with watch history). A failed JSON-patch `test` op or a
path that does not exist answers 422, as a real server does; a JSON patch that is not a list
answers 400.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fluxcd_helm_upgrader.testkit.emulator import errors

MERGE = "application/merge-patch+json"
JSON = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def accepted_types(custom: bool) -> list[str]:
    """PATCH content types served: custom resources have no strategic merge (no patch strategies)."""
    return [JSON, MERGE] if custom else [JSON, MERGE, STRATEGIC]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, `null` deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _invalid(message: str) -> errors.ApiError:
    return errors.ApiError(422, "Invalid", message)


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _invalid(f"json patch path {pointer!r} must start with '/'")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _index(container: list[Any], token: str, pointer: str, allow_end: bool) -> int:
    if allow_end and token == "-":
        return len(container)
    if not token.isdigit():
        raise _invalid(f"json patch path {pointer!r}: {token!r} is not an array index")
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise _invalid(f"json patch path {pointer!r}: index {index} out of bounds")
    return index


def _parent(doc: Any, pointer: str) -> tuple[Any, str]:
    tokens = _tokens(pointer)
    if not tokens:
        raise _invalid("json patch: operations on the document root are not supported")
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, pointer, allow_end=False)]
        else:
            raise _invalid(f"doc is missing path: {pointer!r}: missing value")
    return node, tokens[-1]


def _get(doc: Any, pointer: str) -> Any:
    parent, token = _parent(doc, pointer) if pointer else (None, "")
    if parent is None:
        return doc
    if isinstance(parent, dict) and token in parent:
        return parent[token]
    if isinstance(parent, list):
        return parent[_index(parent, token, pointer, allow_end=False)]
    raise _invalid(f"doc is missing path: {pointer!r}: missing value")


def _add(doc: Any, pointer: str, value: Any) -> None:
    parent, token = _parent(doc, pointer)
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, token, pointer, allow_end=True), value)
    else:
        raise _invalid(f"doc is missing path: {pointer!r}: missing value")


def _remove(doc: Any, pointer: str) -> Any:
    parent, token = _parent(doc, pointer)
    if isinstance(parent, dict) and token in parent:
        return parent.pop(token)
    if isinstance(parent, list):
        return parent.pop(_index(parent, token, pointer, allow_end=False))
    raise _invalid(f"doc is missing path: {pointer!r}: missing value")


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 over a deep copy of `target`; all-or-nothing like the real server."""
    if not isinstance(operations, list):
        # kube-apiserver decodes the body into []jsonPatchOp and fails on anything else.
        raise errors.bad_request(
            f"json: cannot unmarshal {type(operations).__name__} into Go value of type []handlers.jsonPatchOp"
        )
    doc = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise errors.bad_request(f"json patch operation is malformed: {json.dumps(operation)}")
        op, path = operation["op"], operation["path"]
        if op == "add":
            _add(doc, path, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            _remove(doc, path)
            _add(doc, path, copy.deepcopy(operation.get("value")))
        elif op == "move":
            _add(doc, path, _remove(doc, operation["from"]))
        elif op == "copy":
            _add(doc, path, copy.deepcopy(_get(doc, operation["from"])))
        elif op == "test":
            actual = _get(doc, path)
            if actual != operation.get("value"):
                raise _invalid(
                    f"the server rejected our request due to an error in our request: "
                    f"testing value {path} failed: test operation does not apply: "
                    f"is {json.dumps(actual)}, expected {json.dumps(operation.get('value'))}"
                )
        else:
            raise errors.bad_request(f"Unexpected kind: {op}")
    return doc
