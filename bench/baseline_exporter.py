"""The original lab's exporter approach, kept only as the benchmark's baseline.

prometheus-client + numpy + scikit-learn + pandas imported at start, module-level Gauges, and
a thread that calls Gauge.set() in a loop every second. Not shipped, not used by the lab.
"""

import sys
import time

import numpy as np
import pandas as pd  # noqa: F401 - imported at start, as the original did  # pylint: disable=unused-import
from prometheus_client import Counter, Gauge, start_http_server
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

LABELS = ["model_name", "version"]
MAE = Gauge("model_mae_score", "MAE", LABELS)
RMSE = Gauge("model_rmse_score", "RMSE", LABELS)
R2 = Gauge("model_r2_score", "R2", LABELS)
REQUESTS = Counter("model_requests", "requests", LABELS)


def loop() -> None:
    rng = np.random.default_rng(0)
    start = time.monotonic()
    while True:
        minutes = (time.monotonic() - start) / 60
        for version, spread in (("v1.0", 0.52 + 0.02 * minutes), ("v2.0", 0.44)):
            truth = rng.lognormal(0.6, 0.55, 500)
            prediction = truth + rng.normal(0, spread, 500)
            labels = ("california-housing", version)
            MAE.labels(*labels).set(mean_absolute_error(truth, prediction))
            RMSE.labels(*labels).set(np.sqrt(mean_squared_error(truth, prediction)))
            R2.labels(*labels).set(r2_score(truth, prediction))
            REQUESTS.labels(*labels).inc(10)
        time.sleep(1)


if __name__ == "__main__":
    start_http_server(int(sys.argv[1]), addr="127.0.0.1")
    loop()
