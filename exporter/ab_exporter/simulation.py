"""Simulated A/B traffic for a house-price model: the exporter's data source.

Requests arrive as a Poisson stream and are split between versions. For each request we draw
a true house value (California-housing-like: median value in units of $100k, 0.15-5.0) and a
prediction whose error is normal with a per-version spread. A degrading version's spread grows
linearly with uptime (data drift the model was not retrained for); a stable one's does not.

Time only moves when somebody looks: `snapshot()` first generates the requests that arrived
since the last call. No background thread, so an idle exporter uses no CPU, and tests drive
the clock directly.

Draws come from the standard library's `random`, statistics from numpy: at lab rates (tens of
requests a second) vectorised draws buy nothing, and importing numpy.random costs the pod
2.5-7 MiB of resident memory (measured), a tenth of its budget.
"""

from __future__ import annotations

import bisect
import itertools
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ab_exporter import stats
from ab_exporter.config import VersionProfile

# Upper bounds of the absolute-error histogram, in $100k.
ERROR_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
# Traffic a single catch-up generates at most: a scrape after a long pause must stay cheap
# (at the highest accepted rate, 1,000 req/s, that is 60,000 draws, ~0.1 s).
MAX_CATCH_UP_SECONDS = 60.0
# Quality gauges need a few predictions to mean anything (R² of one sample is undefined).
MIN_PREDICTIONS = 10


@dataclass(frozen=True)
class VersionStats:
    profile: VersionProfile
    requests_total: int
    window_predictions: int
    mae: float | None
    rmse: float | None
    r2: float | None
    error_bucket_counts: tuple[int, ...]  # cumulative, per ERROR_BUCKETS then +Inf
    error_sum: float


def draw_true_value(rng: random.Random) -> float:
    # Log-normal with median ~1.8 and mean ~2.1, clipped to the data set's range.
    return min(max(rng.lognormvariate(0.6, 0.55), 0.15), 5.0)


class _Window:
    """The last `size` (truth, prediction) pairs of one version, in a ring buffer."""

    def __init__(self, size: int) -> None:
        self.truth = np.empty(size)
        self.prediction = np.empty(size)
        self.filled = 0
        self._next = 0

    def push(self, truth: np.ndarray, prediction: np.ndarray) -> None:
        size = len(self.truth)
        if len(truth) >= size:  # only the newest `size` survive
            truth, prediction = truth[-size:], prediction[-size:]
        index = (self._next + np.arange(len(truth))) % size
        self.truth[index] = truth
        self.prediction[index] = prediction
        self._next = (self._next + len(truth)) % size
        self.filled = min(size, self.filled + len(truth))

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        return self.truth[: self.filled], self.prediction[: self.filled]


class ABTrafficSimulator:
    def __init__(
        self,
        profiles: Sequence[VersionProfile],
        request_rate: float,
        window: int,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.profiles = tuple(profiles)
        self.request_rate = request_rate
        self._cumulative_shares = list(itertools.accumulate(p.share for p in self.profiles))
        self._rng = random.Random(seed)
        self._clock = clock
        self._start = clock()
        self._next_arrival = self._start + self._rng.expovariate(request_rate)
        self._windows = [_Window(window) for _profile in self.profiles]
        self._requests = np.zeros(len(self.profiles), dtype=np.int64)
        self._buckets = np.array(ERROR_BUCKETS)
        self._bucket_counts = np.zeros((len(self.profiles), len(ERROR_BUCKETS) + 1), dtype=np.int64)
        self._error_sums = np.zeros(len(self.profiles))
        # The collector may be called from several threads (tests, other servers); one at a time.
        self._lock = threading.Lock()

    def _route(self) -> int:
        index = bisect.bisect_right(self._cumulative_shares, self._rng.random())
        return min(index, len(self.profiles) - 1)  # shares summing to 0.9999999 still route

    def _advance(self, now: float) -> None:
        # A long pause is skipped, not replayed: only its last MAX_CATCH_UP_SECONDS arrive.
        self._next_arrival = max(self._next_arrival, now - MAX_CATCH_UP_SECONDS)
        arrivals: list[tuple[list[float], list[float]]] = [([], []) for _profile in self.profiles]
        # A Poisson stream: exponential gaps between consecutive requests.
        while self._next_arrival <= now:
            at = self._next_arrival
            index = self._route()
            profile = self.profiles[index]
            truth = draw_true_value(self._rng)
            spread = profile.base_error + profile.drift_per_minute * (at - self._start) / 60.0
            arrivals[index][0].append(truth)
            arrivals[index][1].append(truth + self._rng.gauss(0.0, spread))
            self._next_arrival += self._rng.expovariate(self.request_rate)
        for index, (truths, predictions) in enumerate(arrivals):
            if not truths:
                continue
            truth, prediction = np.array(truths), np.array(predictions)
            errors = np.abs(prediction - truth)
            self._windows[index].push(truth, prediction)
            self._requests[index] += len(truth)
            self._bucket_counts[index] += stats.bucket_counts(errors, self._buckets)
            self._error_sums[index] += float(errors.sum())

    def snapshot(self) -> list[VersionStats]:
        with self._lock:
            self._advance(self._clock())
            return [self._stats(i, profile) for i, profile in enumerate(self.profiles)]

    def _stats(self, i: int, profile: VersionProfile) -> VersionStats:
        truth, prediction = self._windows[i].pairs()
        enough = len(truth) >= MIN_PREDICTIONS
        return VersionStats(
            profile=profile,
            requests_total=int(self._requests[i]),
            window_predictions=len(truth),
            mae=stats.mae(truth, prediction) if enough else None,
            rmse=stats.rmse(truth, prediction) if enough else None,
            r2=stats.r2(truth, prediction) if enough else None,
            error_bucket_counts=tuple(int(c) for c in np.cumsum(self._bucket_counts[i])),
            error_sum=float(self._error_sums[i]),
        )
