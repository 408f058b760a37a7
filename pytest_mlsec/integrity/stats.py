"""Small, exact statistics for poisoning signals, in pure Python (no scipy).

* :func:`chi2_sf` -- the chi-square survival function (p-value), through the regularized
  upper incomplete gamma function ``Q(a, x)``: a power series below ``x < a + 1`` and a
  continued fraction (modified Lentz) above, the classic split that converges fast on
  both sides.
* :func:`goodness_of_fit` -- observed label counts against trusted *proportions*.
* :func:`homogeneity` -- two samples of counts (data vs a trusted reference sample), the
  2 x k contingency test: it accounts for the reference being a sample too.
* :func:`psi` -- population stability index, the industry's drift number, reported next
  to the test so a reviewer sees an effect size, not only a p-value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 10_000
PSI_FLOOR = 1e-4
"""Proportions are floored at this value in the PSI so an absent class gives a large, finite index."""


def regularized_gamma_q(a: float, x: float) -> float:
    """``Q(a, x) = Gamma(a, x) / Gamma(a)``, the regularized upper incomplete gamma function."""
    if a <= 0 or math.isnan(a) or math.isnan(x):
        raise ValueError(f"Q(a, x) needs a > 0 and numbers, got a={a}, x={x}")
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    log_prefix = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        # P(a, x) = x^a e^-x / Gamma(a+1) * sum_n x^n / ((a+1)...(a+n))
        term = 1.0 / a
        total = term
        n = 0
        while n < _MAX_ITER:
            n += 1
            term *= x / (a + n)
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        p = total * math.exp(log_prefix)
        return min(1.0, max(0.0, 1.0 - p))
    # Continued fraction for Q(a, x), evaluated with the modified Lentz method.
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return min(1.0, max(0.0, math.exp(log_prefix) * h))


def chi2_sf(statistic: float, df: int) -> float:
    """P(X >= statistic) for a chi-square variable with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if statistic <= 0:
        return 1.0
    return regularized_gamma_q(df / 2.0, statistic / 2.0)


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    df: int
    p_value: float
    min_expected: float


def goodness_of_fit(observed: Mapping[str, int], proportions: Mapping[str, float]) -> ChiSquare:
    """Chi-square goodness of fit of observed counts to reference proportions.

    A label the reference gives probability 0 but the data contains is impossible under
    the reference; it gets a floor probability (1e-6) so the statistic stays finite but
    overwhelming, rather than infinite (which JSON evidence cannot carry).
    """
    labels = sorted(set(observed) | set(proportions))
    n = sum(observed.values())
    floor = 1e-6
    raw = {k: max(float(proportions.get(k, 0.0)), floor) for k in labels}
    total_p = sum(raw.values())
    stat = 0.0
    min_expected = math.inf
    for k in labels:
        expected = n * raw[k] / total_p
        min_expected = min(min_expected, expected)
        stat += (observed.get(k, 0) - expected) ** 2 / expected
    df = max(1, len(labels) - 1)
    return ChiSquare(stat, df, chi2_sf(stat, df) if len(labels) > 1 else 1.0, min_expected)


def homogeneity(data: Mapping[str, int], reference: Mapping[str, int]) -> ChiSquare:
    """Chi-square test that two samples of labels come from the same distribution (2 x k table)."""
    labels = sorted(k for k in set(data) | set(reference) if data.get(k, 0) + reference.get(k, 0) > 0)
    n_data = sum(data.values())
    n_ref = sum(reference.values())
    total = n_data + n_ref
    stat = 0.0
    min_expected = math.inf
    for k in labels:
        column = data.get(k, 0) + reference.get(k, 0)
        for observed, row in ((data.get(k, 0), n_data), (reference.get(k, 0), n_ref)):
            expected = row * column / total
            min_expected = min(min_expected, expected)
            if expected > 0:
                stat += (observed - expected) ** 2 / expected
    df = len(labels) - 1
    if df < 1:
        return ChiSquare(0.0, 1, 1.0, min_expected if labels else 0.0)
    return ChiSquare(stat, df, chi2_sf(stat, df), min_expected)


def proportions(counts: Mapping[str, float]) -> dict[str, float]:
    total = float(sum(counts.values()))
    if total <= 0:
        return {k: 0.0 for k in counts}
    return {k: v / total for k, v in counts.items()}


def psi(actual: Mapping[str, float], expected: Mapping[str, float]) -> float:
    """Population stability index between two distributions (proportions; floored at 1e-4)."""
    labels = set(actual) | set(expected)
    value = 0.0
    for k in labels:
        a = max(actual.get(k, 0.0), PSI_FLOOR)
        e = max(expected.get(k, 0.0), PSI_FLOOR)
        value += (a - e) * math.log(a / e)
    return value
