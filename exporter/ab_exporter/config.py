"""Configuration from flags and EXPORTER_* environment variables (flags win).

Bad configuration is a ConfigError carrying one line that names the setting and what it
accepts; the entry point prints it and exits 2. Never a traceback, so a misconfigured pod's
log says what to fix on its first line.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ENV_PREFIX = "EXPORTER_"
# Defaults reproduce the lab: v1.0 (incumbent) slowly degrading, v2.0 (candidate) stable.
# With these, after a minute v1.0's MAE is ~0.40 and v2.0's ~0.35; R² ~0.8.
DEFAULT_BASE_ERROR = {0: 0.52}  # first version; the others get OTHER_BASE_ERROR
OTHER_BASE_ERROR = 0.44
DEFAULT_DRIFT_FIRST = 0.02


@dataclass(frozen=True)
class VersionProfile:
    """One model version's traffic and error. Defined here, not in simulation.py, so that this
    parser imports nothing but the standard library: deploy.yml runs it on the controller to
    judge metrics_exporter_settings exactly as the pod will, without numpy."""

    name: str
    share: float  # fraction of the traffic this version receives
    base_error: float  # standard deviation of the prediction error at start, in $100k
    drift_per_minute: float  # growth of that standard deviation per minute of uptime


class ConfigError(Exception):
    """A setting is invalid; str(err) is the one line shown to the user."""


@dataclass(frozen=True)
class Config:
    port: int
    listen_address: str
    model_name: str
    profiles: tuple[VersionProfile, ...]
    request_rate: float
    window: int
    seed: int | None
    startup_seconds: float = 0.0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit 2 itself
        raise ConfigError(f"{message} (see --help for the accepted options)")


def _parser() -> _Parser:
    parser = _Parser(
        prog="python -m ab_exporter",
        description="Simulated A/B traffic for a house-price model, exported as Prometheus metrics.",
        epilog=f"Every option can also be set as an environment variable: {ENV_PREFIX}<OPTION> (e.g. EXPORTER_PORT).",
    )
    add = parser.add_argument
    add("--port", help="TCP port to serve /metrics and /healthz on (1-65535; default 8000)")
    add("--listen-address", help="address to listen on (default 0.0.0.0)")
    add("--model-name", help="value of the model_name label (default california-housing)")
    add("--versions", help="comma-separated model versions (default v1.0,v2.0)")
    add("--traffic-split", help="comma-separated traffic shares per version, summing to 1 (default: equal)")
    add("--request-rate", help="mean requests per second, all versions together (0.001-1000; default 50)")
    add("--base-error", help="per version: std. dev. of the prediction error at start, in $100k (default 0.52,0.44)")
    add("--drift-per-minute", help="per version: growth of that std. dev. per minute (default 0.02,0: v1.0 degrades)")
    add("--window", help="predictions per version in the sliding window the scores use (10-100000; default 2000)")
    add("--seed", help="random seed for a reproducible run (default: random)")
    add(
        "--startup-seconds",
        help="seconds spent before serving, as a start that installs packages would (0-3600; default 0): "
        "for showing what a slow start does under the probes",
    )
    return parser


OPTIONS = [a.dest for a in _parser()._actions if a.dest != "help"]


def _env_name(option: str) -> str:
    return ENV_PREFIX + option.upper()


def load(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Config:
    environ = os.environ if environ is None else environ
    flags = vars(_parser().parse_args(argv))
    known = {_env_name(o) for o in OPTIONS}
    unknown = sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in known)
    if unknown:
        raise ConfigError(f"unknown environment variable {unknown[0]}: accepted are {', '.join(sorted(known))}")
    raw = {o: flags[o] if flags[o] is not None else environ.get(_env_name(o)) for o in OPTIONS}
    return _build(raw)


def _setting(option: str) -> str:
    return f"--{option.replace('_', '-')} / {_env_name(option)}"


def _number(raw: dict, option: str, *, kind: type, default, lo: float, hi: float, accepted: str):
    value = raw[option]
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"invalid {_setting(option)} {value!r}: expected {accepted}") from None
    if not (lo <= number <= hi) or (kind is float and not math.isfinite(number)):
        raise ConfigError(f"invalid {_setting(option)} {value!r}: expected {accepted}")
    return number


def _floats(raw: dict, option: str, count: int, versions: list[str], accepted: str) -> list[float] | None:
    value = raw[option]
    if value is None:
        return None
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        raise ConfigError(f"invalid {_setting(option)} {value!r}: expected {accepted}") from None
    if len(numbers) != count or any(not math.isfinite(n) or n < 0 for n in numbers):
        raise ConfigError(
            f"invalid {_setting(option)} {value!r}: expected {accepted}, one per version ({','.join(versions)})"
        )
    return numbers


def _build(raw: dict) -> Config:
    port = _number(raw, "port", kind=int, default=8000, lo=1, hi=65535, accepted="a TCP port from 1 to 65535")
    listen_address = raw["listen_address"] or "0.0.0.0"
    try:
        ipaddress.ip_address(listen_address)
    except ValueError:
        raise ConfigError(
            f"invalid {_setting('listen_address')} {listen_address!r}: expected an IP address such as 0.0.0.0"
        ) from None
    model_name = raw["model_name"] or "california-housing"
    versions = [v.strip() for v in (raw["versions"] or "v1.0,v2.0").split(",")]
    if not all(versions) or len(set(versions)) != len(versions):
        raise ConfigError(
            f"invalid {_setting('versions')} {raw['versions']!r}: expected distinct non-empty names such as v1.0,v2.0"
        )
    n = len(versions)
    split = _floats(raw, "traffic_split", n, versions, "shares from 0 to 1 that sum to 1") or [1.0 / n] * n
    if abs(sum(split) - 1.0) > 1e-6 or any(s > 1 for s in split):
        raise ConfigError(
            f"invalid {_setting('traffic_split')} {raw['traffic_split']!r}: "
            f"expected shares from 0 to 1 that sum to 1 (they sum to {sum(split):g}), e.g. {','.join(['0.5'] * 2)}"
        )
    base = _floats(raw, "base_error", n, versions, "non-negative numbers") or [
        DEFAULT_BASE_ERROR.get(i, OTHER_BASE_ERROR) for i in range(n)
    ]
    drift = _floats(raw, "drift_per_minute", n, versions, "non-negative numbers") or [
        DEFAULT_DRIFT_FIRST if i == 0 else 0.0 for i in range(n)
    ]
    rate = _number(
        raw,
        "request_rate",
        kind=float,
        default=50.0,
        lo=1e-3,
        hi=1000.0,
        accepted="requests per second, from 0.001 to 1000",
    )
    window = _number(
        raw,
        "window",
        kind=int,
        default=2000,
        lo=10,
        hi=100000,
        accepted="a whole number of predictions from 10 to 100000",
    )
    seed = _number(raw, "seed", kind=int, default=None, lo=0, hi=2**63, accepted="a non-negative whole number")
    startup = _number(
        raw, "startup_seconds", kind=float, default=0.0, lo=0.0, hi=3600.0, accepted="seconds from 0 to 3600"
    )
    profiles = tuple(VersionProfile(v, s, b, d) for v, s, b, d in zip(versions, split, base, drift, strict=True))
    return Config(port, listen_address, model_name, profiles, rate, window, seed, startup)
