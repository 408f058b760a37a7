"""The pure-Python chi-square p-value against closed forms and published critical values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_mlsec.integrity.stats import (
    chi2_sf,
    goodness_of_fit,
    homogeneity,
    proportions,
    psi,
    regularized_gamma_q,
)

# (statistic, df, p): the classic table of critical values (e.g. NIST/SEMATECH handbook, 1.3.6.7.4).
CRITICAL = [
    (3.841, 1, 0.05),
    (6.635, 1, 0.01),
    (10.828, 1, 0.001),
    (5.991, 2, 0.05),
    (13.816, 2, 0.001),
    (7.815, 3, 0.05),
    (11.345, 3, 0.01),
    (11.070, 5, 0.05),
    (18.307, 10, 0.05),
    (23.209, 10, 0.01),
    (31.410, 20, 0.05),
    (124.342, 100, 0.05),
]


@pytest.mark.parametrize(("stat", "df", "p"), CRITICAL)
def test_critical_values(stat: float, df: int, p: float) -> None:
    assert chi2_sf(stat, df) == pytest.approx(p, rel=2e-3)


@given(st.floats(min_value=1e-6, max_value=200))
def test_df1_equals_erfc(x: float) -> None:
    assert chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-9, abs=1e-300)


@given(st.floats(min_value=0, max_value=500))
def test_df2_equals_exponential(x: float) -> None:
    assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-9, abs=1e-300)


@given(st.floats(min_value=0, max_value=500))
def test_df4_closed_form(x: float) -> None:
    assert chi2_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-9, abs=1e-300)


@given(st.floats(min_value=0.1, max_value=50), st.floats(min_value=0, max_value=100))
def test_q_is_a_probability_and_monotone(a: float, x: float) -> None:
    q = regularized_gamma_q(a, x)
    assert 0.0 <= q <= 1.0
    assert regularized_gamma_q(a, x + 1.0) <= q + 1e-12


def test_edge_cases() -> None:
    assert chi2_sf(0, 3) == 1.0
    assert chi2_sf(math.inf, 3) == 0.0
    with pytest.raises(ValueError):
        chi2_sf(1.0, 0)
    with pytest.raises(ValueError):
        regularized_gamma_q(0, 1)


def test_goodness_of_fit_textbook_example() -> None:
    # A fair die rolled 60 times: observed 5, 8, 9, 8, 10, 20 -> chi2 = 13.4, df 5, p ~ 0.0199.
    observed = {str(i): n for i, n in enumerate([5, 8, 9, 8, 10, 20], 1)}
    result = goodness_of_fit(observed, {str(i): 1 / 6 for i in range(1, 7)})
    assert result.statistic == pytest.approx(13.4)
    assert result.df == 5
    assert result.p_value == pytest.approx(0.01990, abs=2e-4)


def test_homogeneity_two_by_two() -> None:
    # 2x2 table [[10, 20], [30, 40]]: chi2 (no continuity correction) = 0.7937, df 1.
    result = homogeneity({"a": 10, "b": 20}, {"a": 30, "b": 40})
    assert result.statistic == pytest.approx(0.79365, rel=1e-4)
    assert result.df == 1
    assert result.p_value == pytest.approx(0.3730, abs=1e-3)


def test_psi_identical_and_shifted() -> None:
    assert psi({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0.0
    shifted = psi({"a": 0.8, "b": 0.2}, {"a": 0.5, "b": 0.5})
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert shifted == pytest.approx(expected)
    assert proportions({"a": 1, "b": 3}) == {"a": 0.25, "b": 0.75}
