"""Paired comparisons over seeds: the difference a module makes, with its 95% interval.

Two variants trained with the same seed share their backbone's initial weights (attention
modules are built off the backbone's random stream, see
:func:`attn_helpers.vision.backbones.build_off_stream`) and see the same batches in the same
order, so most of the seed-to-seed noise is common to both. Their per-seed difference
``d_s = score(variant, s) - score(baseline, s)`` cancels it; over ``n`` seeds the mean
difference gets Student's t-interval ``mean ± t_{0.975, n-1} · sd / sqrt(n)``. An interval
that excludes zero is a difference the seeds support; one that straddles zero is not,
however large the mean looks.

Accuracies are reported in *points* (percentage points), printed like ``+3.2 [+1.1, +5.3]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["PairedDifference", "paired_difference", "paired_table"]


def _t_quantile(p: float, dof: int) -> float:
    from scipy.stats import t  # scipy comes with scikit-learn, a dependency of the package

    return float(t.ppf(p, dof))


@dataclass(frozen=True)
class PairedDifference:
    """Per-seed differences (in points) and their mean with a two-sided t-interval."""

    differences: tuple[float, ...]
    mean: float
    low: float
    high: float
    confidence: float

    @property
    def n(self) -> int:
        """Number of paired seeds."""
        return len(self.differences)

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.mean:+.1f} [{self.low:+.1f}, {self.high:+.1f}]"


def paired_difference(
    variant: Sequence[float], baseline: Sequence[float], *, confidence: float = 0.95, scale: float = 100.0
) -> PairedDifference:
    """Mean of ``scale * (variant[s] - baseline[s])`` over seeds ``s`` with its t-interval.

    Args:
        variant, baseline: one score per seed, in the same seed order (accuracies in [0, 1]).
        confidence: coverage of the two-sided interval (0.95 gives t_{0.975, n-1}).
        scale: multiplies the differences; 100 turns accuracies into points.

    With two or more seeds the interval is ``mean ± t · sd / sqrt(n)`` (sd with n - 1 in the
    denominator); with one seed it is unbounded (``-inf, +inf``): one pair says nothing about
    the noise.
    """
    variant, baseline = [float(v) for v in variant], [float(b) for b in baseline]
    if not variant or len(variant) != len(baseline):
        raise ValueError(
            f"variant and baseline must hold one score per seed each, in the same order; "
            f"got {len(variant)} and {len(baseline)}"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if any(math.isnan(x) for x in variant + baseline):
        raise ValueError("variant and baseline must not contain NaN scores")
    diffs = tuple(scale * (v - b) for v, b in zip(variant, baseline))
    n = len(diffs)
    mean = sum(diffs) / n
    if n < 2:
        return PairedDifference(diffs, mean, -math.inf, math.inf, confidence)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = _t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return PairedDifference(diffs, mean, mean - half, mean + half, confidence)


def paired_table(scores: Mapping[str, Sequence[float]], baseline: str, *, scale: float = 100.0) -> str:
    """Markdown table: each variant's per-seed scores, mean, and paired Δ [95% interval] to ``baseline``.

    ``scores`` maps a variant name to its per-seed scores (the same seeds, in the same order,
    for every variant), e.g. ``{"baseline": [0.81, 0.84, 0.93], "BAM": [0.98, 0.97, 0.98]}``.
    """
    if baseline not in scores:
        raise ValueError(f"baseline must be one of {list(scores)}, got {baseline!r}")
    lines = ["| model | per seed | mean | Δ vs " + baseline + " (pts) [95% CI] |", "|---|---|---|---|"]
    for name, values in scores.items():
        per_seed = " / ".join(f"{v:.3f}" for v in values)
        mean = sum(values) / len(values)
        delta = "—" if name == baseline else str(paired_difference(values, scores[baseline], scale=scale))
        lines.append(f"| {name} | {per_seed} | {mean:.3f} | {delta} |")
    return "\n".join(lines)
