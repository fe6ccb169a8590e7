import numpy as np
import pytest
from ab_exporter.config import load
from ab_exporter.simulation import ERROR_BUCKETS, ABTrafficSimulator, VersionProfile, _Window


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def lab_simulator(seed=7, **overrides):
    cfg = load([], {})
    clock = FakeClock()
    sim = ABTrafficSimulator(cfg.profiles, cfg.request_rate, cfg.window, seed=seed, clock=clock, **overrides)
    return sim, clock


def scrape_every(sim, clock, seconds, interval=15.0):
    """Advance like Prometheus would: a snapshot every `interval` seconds."""
    result = None
    for _scrape in range(int(seconds / interval)):
        clock.now += interval
        result = {s.profile.name: s for s in sim.snapshot()}
    return result


@pytest.mark.parametrize("seed", range(8))
def test_defaults_after_a_minute_put_the_versions_clearly_apart(seed):
    sim, clock = lab_simulator(seed)
    after_1m = scrape_every(sim, clock, 60)
    v1, v2 = after_1m["v1.0"], after_1m["v2.0"]
    assert 0.37 <= v1.mae <= 0.45
    assert 0.32 <= v2.mae <= 0.38
    assert v1.mae > v2.mae + 0.03
    assert 0.7 <= v1.r2 <= 0.9 and 0.75 <= v2.r2 <= 0.92
    assert v1.rmse > v1.mae  # always true for real errors with any spread


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_v1_keeps_degrading_while_v2_stays_stable(seed):
    sim, clock = lab_simulator(seed)
    maes = [scrape_every(sim, clock, 300) for _quarter in range(4)]  # at 5, 10, 15, 20 minutes
    v1 = [m["v1.0"].mae for m in maes]
    v2 = [m["v2.0"].mae for m in maes]
    assert v1 == sorted(v1), f"v1.0 MAE must keep rising: {v1}"
    assert v1[-1] > v1[0] + 0.1
    assert max(v2) - min(v2) < 0.04, f"v2.0 must stay stable: {v2}"


def test_requests_follow_rate_and_split():
    cfg = load(["--traffic-split", "0.8,0.2", "--request-rate", "50"], {})
    clock = FakeClock()
    sim = ABTrafficSimulator(cfg.profiles, cfg.request_rate, cfg.window, seed=3, clock=clock)
    for _step in range(20):
        clock.now += 10
        v1, v2 = sim.snapshot()
    total = v1.requests_total + v2.requests_total
    assert total == pytest.approx(50 * 200, rel=0.05)  # Poisson: sd ~1%
    assert v1.requests_total / total == pytest.approx(0.8, abs=0.02)


def test_counters_never_go_down_and_histogram_is_consistent():
    sim, clock = lab_simulator()
    previous = 0
    for _step in range(10):
        clock.now += 3
        v1 = sim.snapshot()[0]
        assert v1.requests_total >= previous
        previous = v1.requests_total
        assert v1.error_bucket_counts[-1] == v1.requests_total  # +Inf bucket counts everything
        assert list(v1.error_bucket_counts) == sorted(v1.error_bucket_counts)
        assert len(v1.error_bucket_counts) == len(ERROR_BUCKETS) + 1


def test_scores_are_real_statistics_of_the_window():
    # A version without error must score perfectly: the scores come from the data.
    clock = FakeClock()
    sim = ABTrafficSimulator([VersionProfile("exact", 1.0, 0.0, 0.0)], 20, 100, seed=1, clock=clock)
    clock.now += 30
    exact = sim.snapshot()[0]
    assert exact.mae == 0.0 and exact.rmse == 0.0 and exact.r2 == 1.0


def test_no_scores_until_the_window_has_a_few_predictions():
    sim, clock = lab_simulator()
    clock.now += 0.01
    v1 = sim.snapshot()[0]
    assert v1.mae is None and v1.r2 is None


def test_same_seed_same_stream():
    a, clock_a = lab_simulator(seed=11)
    b, clock_b = lab_simulator(seed=11)
    assert scrape_every(a, clock_a, 60)["v1.0"] == scrape_every(b, clock_b, 60)["v1.0"]


def test_a_long_pause_costs_a_bounded_catch_up():
    sim, clock = lab_simulator()
    clock.now += 86400  # a day without scrapes
    v1 = sim.snapshot()[0]
    assert v1.requests_total < 50 * 60  # at most MAX_CATCH_UP_SECONDS of traffic


def test_window_keeps_only_the_newest_pairs():
    window = _Window(4)
    window.push(np.arange(3.0), np.arange(3.0))
    window.push(np.arange(3.0, 6.0), np.arange(3.0, 6.0))
    truth, _prediction = window.pairs()
    assert sorted(truth.tolist()) == [2.0, 3.0, 4.0, 5.0]
    window.push(np.arange(10.0, 20.0), np.arange(10.0, 20.0))
    assert sorted(window.pairs()[0].tolist()) == [16.0, 17.0, 18.0, 19.0]
