"""A/B model-metrics exporter for the mlopslab monitoring lab.

Simulates live traffic to two (or more) versions of a house-price model and exports the
quality of each version's predictions (MAE, RMSE, R² over a sliding window) to Prometheus.
"""

__version__ = "1.0.0"
