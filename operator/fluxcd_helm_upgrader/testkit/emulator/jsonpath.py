"""JSONPath as k8s.io/client-go/util/jsonpath evaluates it for printer columns (AllowMissingKeys on).

`emulator.tables` parses each CRD `additionalPrinterColumns[].jsonPath` once with `parse()` and
calls `find()` per object; `text()` renders a found value the way jsonpath's PrintResults does for a
`string` column (strings as they are, maps and lists as compact JSON, numbers like Go's `%v`, JSON
null as `<no value>`). Supported, as in client-go: `.field`, `['quoted.field']`, `.*` and `[*]`,
`..` (recursive descent), `[i]`, `[-i]`, `[start:end:step]`, and filters
`[?(@.a.b == "x")]` with `== != < > <= >=` and existence `[?(@.a)]`. A missing key yields no result
(the column shows `<none>`); an index out of range, a filter over a non-list or a comparison of
different types is a `JsonPathError`, which the table turns into an empty cell like the real server.
"""

from __future__ import annotations

import decimal
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Step = Callable[[list[Any]], list[Any]]


class JsonPathError(ValueError):
    """The path cannot be parsed, or evaluating it failed (client-go returns an error)."""


@dataclass(frozen=True)
class Compiled:
    """A parsed path: `find(obj)` returns every value it selects, in document order."""

    source: str
    steps: tuple[Step, ...]

    def find(self, obj: Any) -> list[Any]:
        values = [obj]
        for step in self.steps:
            values = step(values)
        return values


_MISSING = object()
_FILTER = re.compile(r"^\?\((?P<left>@[^=!<>]*?)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<right>.+?))?\s*\)$")
_SLICE = re.compile(r"^(-?\d*)(?::(-?\d*))?(?::(-?\d*))?$")


def parse(path: str) -> Compiled:
    """Parse a printer-column path such as `.status.conditions[?(@.type=="Ready")].status`."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[Step] = []
    position = 0
    while position < len(text):
        char = text[position]
        if text.startswith("..", position):
            steps.append(_recursive)
            position += 2
            if position < len(text) and text[position] not in ".[":
                position = _field(text, position, steps)
        elif char == ".":
            position = _field(text, position + 1, steps)
        elif char == "[":
            end = _closing_bracket(text, position)
            steps.append(_bracket(text[position + 1 : end].strip(), path))
            position = end + 1
        elif char == "@" and position == 0:
            position += 1  # a filter's own `@.x` is parsed relative to the item
        else:
            raise JsonPathError(f"unrecognized character in action: {char!r} in {path!r}")
    return Compiled(path, tuple(steps))


def _field(text: str, position: int, steps: list[Step]) -> int:
    match = re.match(r"[^.\[\]\s]+", text[position:])
    if match is None:
        return position  # a trailing "." selects the current value, as in client-go
    name = match.group(0)
    steps.append(_wildcard if name == "*" else _key(name))
    return position + len(name)


def _closing_bracket(text: str, start: int) -> int:
    depth, quote = 0, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index
    raise JsonPathError(f"unclosed array expect ] in {text!r}")


def _bracket(inner: str, path: str) -> Step:
    if inner == "*":
        return _wildcard
    if inner.startswith("?"):
        return _filter(inner, path)
    if inner[:1] in "'\"":
        names = [_literal(part.strip()) for part in _split_union(inner)]
        return _keys([str(name) for name in names])
    match = _SLICE.match(inner.replace(" ", ""))
    if match is None:
        raise JsonPathError(f"invalid array index {inner!r} in {path!r}")
    start, end, step = match.groups()
    if end is None and step is None:  # [i] is [i:i+1]
        index = int(start)
        return _slice(index, None if index == -1 else index + 1, 1, single=True)
    return _slice(int(start) if start else None, int(end) if end else None, int(step) if step else 1, single=False)


def _split_union(inner: str) -> list[str]:
    return re.findall(r"'[^']*'|\"[^\"]*\"", inner)


def _literal(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise JsonPathError(f"unrecognized filter operand {text!r}") from None


def _key(name: str) -> Step:
    return _keys([name])


def _keys(names: Sequence[str]) -> Step:
    def step(values: list[Any]) -> list[Any]:
        found: list[Any] = []
        for value in values:
            if isinstance(value, Mapping):
                found.extend(value[name] for name in names if name in value)
        return found

    return step


def _wildcard(values: list[Any]) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if isinstance(value, Mapping):
            found.extend(value[key] for key in sorted(value))
        elif isinstance(value, list):
            found.extend(value)
    return found


def _recursive(values: list[Any]) -> list[Any]:
    found: list[Any] = []

    def walk(value: Any) -> None:
        found.append(value)
        children = [value[key] for key in sorted(value)] if isinstance(value, Mapping) else value
        if isinstance(value, Mapping | list):
            for child in children:
                walk(child)

    for value in values:
        walk(value)
    return found


def _slice(start: int | None, end: int | None, stride: int, *, single: bool) -> Step:
    def step(values: list[Any]) -> list[Any]:
        found: list[Any] = []
        for value in values:
            if not isinstance(value, list):
                continue  # missing keys allowed: a non-list yields nothing
            length = len(value)
            first = 0 if start is None else (start + length if start < 0 else start)
            last = length if end is None else (end + length if end < 0 or (end == 0 and single) else end)
            if first == last:
                continue
            if not 0 <= first < length or not 0 <= last <= length:
                raise JsonPathError(f"array index out of bounds: index {first}, length {length}")
            if first > last:
                raise JsonPathError(f"starting index {first} is greater than ending index {last}")
            found.extend(value[first:last:stride])
        return found

    return step


def _filter(inner: str, path: str) -> Step:
    match = _FILTER.match(inner)
    if match is None:
        raise JsonPathError(f"unrecognized filter {inner!r} in {path!r}")
    left = parse(match["left"])
    op = match["op"]
    right = None if op is None else _operand(match["right"])

    def step(values: list[Any]) -> list[Any]:
        found: list[Any] = []
        for value in values:
            if not isinstance(value, list):
                raise JsonPathError(f"{value!r} is not array or slice and cannot be filtered")
            for item in value:
                lefts = left.find(item)
                if op is None:
                    if lefts:
                        found.append(item)
                    continue
                assert right is not None
                rights = right(item)
                if not lefts or not rights:
                    continue
                if len(lefts) > 1 or len(rights) > 1:
                    raise JsonPathError("can only compare one element at a time")
                if _compare(lefts[0], op, rights[0]):
                    found.append(item)
        return found

    return step


def _operand(text: str) -> Callable[[Any], list[Any]]:
    text = text.strip()
    if text.startswith("@"):
        return parse(text).find
    value = _literal(text)
    return lambda _item: [value]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _compare(left: Any, op: str, right: Any) -> bool:
    """Go text/template's eq/ne/lt/...: both sides of one basic kind, else an error."""
    kind = _kind(left)
    if kind != _kind(right) or kind == "other":
        raise JsonPathError("incompatible types for comparison")
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if kind == "bool":
        raise JsonPathError("invalid type for comparison")
    return bool({"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op])


def text(value: Any) -> str:
    """One value as jsonpath's PrintResults writes it."""
    if value is None:
        return "<no value>"
    if isinstance(value, Mapping | list):
        encoded = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        return encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    return str(value)


def go_float(value: float) -> str:
    """Go's `%v` for a float64 (strconv 'g', shortest): exponent form below 1e-4 and from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    point = len(mantissa) + exponent  # digits before the decimal point
    power = point - 1
    prefix = "-" if sign else ""
    if power < -4 or power >= 6:
        rest = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
        return f"{prefix}{mantissa[0]}{rest}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{mantissa}"
    if point >= len(mantissa):
        return f"{prefix}{mantissa}{'0' * (point - len(mantissa))}"
    return f"{prefix}{mantissa[:point]}.{mantissa[point:]}"
