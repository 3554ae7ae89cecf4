"""Google's partial-response field masks: `sheets.properties(sheetId,title),properties.timeZone`."""

from __future__ import annotations

from typing import Any

Mask = dict[str, "Mask | None"]  # None: the whole value below this name


class MaskError(ValueError):
    """The mask cannot be parsed."""


def parse(text: str) -> Mask:
    mask, rest = _parse_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise MaskError(text)
    return mask


def _parse_list(text: str, index: int) -> tuple[Mask, int]:
    mask: Mask = {}
    while index < len(text):
        start = index
        while index < len(text) and text[index] not in ",()":
            index += 1
        path = [part for part in text[start:index].replace("/", ".").split(".") if part]
        if not path:
            raise MaskError(text)
        sub: Mask | None = None
        if index < len(text) and text[index] == "(":
            sub, index = _parse_list(text, index + 1)
            if index >= len(text) or text[index] != ")":
                raise MaskError(text)
            index += 1
        _merge(mask, path, sub)
        if index < len(text) and text[index] == ",":
            index += 1
            continue
        break
    return mask, index


def _merge(mask: Mask, path: list[str], leaf: Mask | None) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        if head in mask and mask[head] is None:
            return
        if leaf is None:
            mask[head] = None
        else:
            existing = mask.get(head) or {}
            for key, value in leaf.items():
                _merge(existing, [key], value)
            mask[head] = existing
        return
    if head in mask and mask[head] is None:
        return
    child = mask.setdefault(head, {})
    assert child is not None
    _merge(child, rest, leaf)


def apply(value: Any, mask: Mask | None) -> Any:
    """Keep only what the mask names; lists are filtered element by element."""
    if mask is None:
        return value
    if isinstance(value, list):
        return [apply(item, mask) for item in value]
    if not isinstance(value, dict):
        return value
    if "*" in mask:
        return value
    return {key: apply(value[key], sub) for key, sub in mask.items() if key in value}


def paths(mask: Mask, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The leaf paths of a mask (for update requests' `fields`)."""
    found: list[tuple[str, ...]] = []
    for key, sub in mask.items():
        if sub is None:
            found.append((*prefix, key))
        else:
            found.extend(paths(sub, (*prefix, key)))
    return found
