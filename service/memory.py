"""Whether a version's weights fit in a given memory: stated by the lab, or derived."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from service.enums import FitBasis, NumericPrecision

BYTES_PER_PARAMETER = {
    NumericPrecision.FP32: Decimal(4),
    NumericPrecision.BF16: Decimal(2),
    NumericPrecision.FP16: Decimal(2),
    NumericPrecision.FP8: Decimal(1),
    NumericPrecision.INT8: Decimal(1),
    NumericPrecision.INT4: Decimal("0.5"),
}


@dataclass(frozen=True)
class StatedTarget:
    memory_gb: float | None
    accelerator_count: int
    precision: NumericPrecision | None


@dataclass(frozen=True)
class Fit:
    fits: bool
    basis: FitBasis
    required_gb: float


def fit(
    targets: Iterable[StatedTarget],
    total_parameters: int | None,
    memory_gb: float,
    precision: NumericPrecision,
) -> Fit | None:
    """A stated hardware target at this precision wins; else weights only, from the count.

    The derived figure counts the weights alone (parameters x bytes per parameter), not the
    KV cache or activations, so it is a lower bound of what serving needs.
    """
    stated = [
        target.memory_gb * target.accelerator_count
        for target in targets
        if target.memory_gb is not None and target.precision in (None, precision)
    ]
    if stated:
        required = min(stated)
        return Fit(fits=required <= memory_gb, basis=FitBasis.STATED, required_gb=required)
    if total_parameters is None:
        return None
    weights = float(total_parameters * BYTES_PER_PARAMETER[precision] / 10**9)
    return Fit(fits=weights <= memory_gb, basis=FitBasis.DERIVED, required_gb=weights)
