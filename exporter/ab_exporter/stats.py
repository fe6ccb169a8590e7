"""Model-quality statistics: pure functions from numpy arrays to numbers."""

from __future__ import annotations

import numpy as np


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(y_true - y_pred)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination, 1 - SS_res / SS_tot.

    NaN when the true values have no spread (SS_tot = 0): R² is undefined there, and a NaN
    sample is what Prometheus expects for "no meaningful value" (a 0 would read as a bad model).
    """
    ss_tot = float(np.sum((y_true - np.mean(y_true)) ** 2))
    if ss_tot == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y_true - y_pred) ** 2)) / ss_tot


def bucket_counts(values: np.ndarray, upper_bounds: np.ndarray) -> np.ndarray:
    """How many values fall at or below each upper bound (non-cumulative per bucket, +Inf last).

    Prometheus buckets are `le` (less than or equal), hence side="left" on the bounds.
    """
    index = np.searchsorted(upper_bounds, values, side="left")
    return np.bincount(index, minlength=len(upper_bounds) + 1)
