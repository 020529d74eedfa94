"""ops.crps_normal against the definition of the CRPS, CRPS(F, x) = ∫ (F(y) - 1{y >= x})² dy, integrated
numerically here for the normal F = N(0, sigma) (Hypothesis picks errors and spreads, tails included):
the calibration's out-of-sample judgement rests on it. (The first version wrote exp(-z ^ 2 / 2), which
Postgres reads as exp((-z)² / 2): every score was wrong, and a 4-sigma miss overflowed.)"""
from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings, strategies as st


def crps_by_definition(x: float, sigma: float) -> float:
    lo, hi, n = min(x, 0) - 12 * sigma, max(x, 0) + 12 * sigma, 40_000
    h = (hi - lo) / n
    total = 0.0
    for i in range(n + 1):
        y = lo + i * h
        f = 0.5 * (1 + math.erf(y / (sigma * math.sqrt(2))))
        g = (f - (1.0 if y >= x else 0.0)) ** 2
        total += g * (0.5 if i in (0, n) else 1.0)
    return total * h


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])   # read-only: one database serves every example
@given(err=st.floats(-40, 40), sigma=st.floats(0.5, 15))
def test_crps_normal_is_the_crps_of_its_definition(db, err, sigma):
    got = db.admin.execute("select ops.crps_normal(%s, %s)", (err, sigma)).fetchone()[0]
    assert math.isclose(got, crps_by_definition(err, sigma), rel_tol=1e-3, abs_tol=1e-3), (err, sigma, got)


def test_crps_normal_at_a_subnormal_error(db):
    """Hypothesis found it: an error of 5e-324 (subnormal) made x / sigma underflow, and Postgres raises."""
    assert math.isclose(db.admin.execute("select ops.crps_normal(5e-324, 2)").fetchone()[0], 2 * (math.sqrt(2 / math.pi) - 1 / math.sqrt(math.pi)))


def test_crps_normal_known_values(db):
    # at x = 0: sigma (2 phi(0) - 1/sqrt(pi)) = sigma (sqrt(2/pi) - 1/sqrt(pi)) = 0.2337 sigma
    assert math.isclose(db.admin.execute("select ops.crps_normal(0, 2)").fetchone()[0], 2 * (math.sqrt(2 / math.pi) - 1 / math.sqrt(math.pi)))
    # a 30 °F miss at sigma 0.5 (60 sigma): finite, sigma (|z| - 1/sqrt(pi))
    assert math.isclose(db.admin.execute("select ops.crps_normal(-30, 0.5)").fetchone()[0], 0.5 * (60 - 1 / math.sqrt(math.pi)))
