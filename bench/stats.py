"""A figure over rounds: its median and its spread (min-max), formatted for the tables."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread | None:
        found = list(values)
        if not found:
            return None
        return cls(statistics.median(found), min(found), max(found), len(found))

    def ratio(self, other: Spread) -> float | None:
        """The ratio of the medians."""
        return self.median / other.median if other.median else None


def fmt(value: Spread | float | None, digits: int = 2, suffix: str = "") -> str:
    """`median (min-max)` over rounds; only the value when there was one round."""
    if value is None:
        return "-"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}{suffix}"
    median = f"{value.median:,.{digits}f}{suffix}"
    if value.n < 2:
        return median
    return f"{median} ({value.low:,.{digits}f}-{value.high:,.{digits}f})"


def ratios(ours: list[float], theirs: list[float]) -> Spread | None:
    """Round-by-round ratios (rounds are interleaved, so round i of each ran side by side)."""
    pairs = [a / b for a, b in zip(ours, theirs, strict=False) if b]
    return Spread.of(pairs)
