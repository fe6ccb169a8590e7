import math

import numpy as np
import pytest
from ab_exporter import stats

# Hand-computed: errors are (0.5, -0.5, 1.0, 0.0) -> MAE 0.5, MSE 0.375.
TRUTH = np.array([1.0, 2.0, 3.0, 4.0])
PRED = np.array([1.5, 1.5, 4.0, 4.0])


def test_mae():
    assert stats.mae(TRUTH, PRED) == pytest.approx(0.5)


def test_rmse():
    assert stats.rmse(TRUTH, PRED) == pytest.approx(math.sqrt(0.375))


def test_r2():
    # SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5.0; SS_res = 1.5
    assert stats.r2(TRUTH, PRED) == pytest.approx(1 - 1.5 / 5.0)


def test_r2_of_a_perfect_and_of_a_mean_predictor():
    assert stats.r2(TRUTH, TRUTH) == 1.0
    assert stats.r2(TRUTH, np.full(4, TRUTH.mean())) == pytest.approx(0.0)


def test_r2_is_nan_without_spread_in_the_truth():
    assert math.isnan(stats.r2(np.ones(3), np.array([1.0, 2.0, 3.0])))


def test_bucket_counts_follow_prometheus_le_semantics():
    bounds = np.array([0.1, 0.5, 1.0])
    counts = stats.bucket_counts(np.array([0.1, 0.2, 0.5, 0.7, 5.0]), bounds)
    # 0.1 is in le="0.1", 0.5 in le="0.5"; 5.0 only in +Inf.
    assert counts.tolist() == [1, 2, 1, 1]
