"""Rule-file validation primitives shared by the predicate compiler and the rule parser."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["RuleError", "expect_keys", "read_codes", "read_number"]


class RuleError(Exception):
    """A rules-file problem at ``field``; turned into an InputError naming file and rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def expect_keys(node: Mapping[str, Any], where: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in node:
        if key not in allowed:
            path = f"{where}.{key}" if where else key
            raise RuleError(path, f"unknown key; allowed: {', '.join(allowed)}")


def read_codes(node: Mapping[str, Any], where: str) -> frozenset[str]:
    codes = node.get("codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c for c in codes):
        raise RuleError(f"{where}.codes", "expected a non-empty list of code strings")
    return frozenset(codes)


def read_number(value: object, where: str, *, low: float = 0.0, high: float = 1e9) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RuleError(where, f"expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)
