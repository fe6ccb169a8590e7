import pytest
from ab_exporter.config import ConfigError, load


def test_defaults():
    cfg = load([], {})
    assert cfg.port == 8000
    assert [p.name for p in cfg.profiles] == ["v1.0", "v2.0"]
    assert [p.share for p in cfg.profiles] == [0.5, 0.5]
    assert cfg.profiles[0].drift_per_minute > 0 and cfg.profiles[1].drift_per_minute == 0
    assert cfg.model_name == "california-housing"


def test_environment_and_flags_flag_wins():
    cfg = load(["--port", "9100"], {"EXPORTER_PORT": "9000", "EXPORTER_SEED": "5"})
    assert cfg.port == 9100 and cfg.seed == 5
    assert load([], {"EXPORTER_PORT": "9000"}).port == 9000


def test_three_versions_get_equal_shares_and_first_degrades():
    cfg = load(["--versions", "a,b,c"], {})
    assert [round(p.share, 3) for p in cfg.profiles] == [0.333] * 3
    assert [p.drift_per_minute > 0 for p in cfg.profiles] == [True, False, False]


@pytest.mark.parametrize(
    ("argv", "env", "names"),
    [
        (["--port", "70000"], {}, ["--port / EXPORTER_PORT", "1 to 65535"]),
        ([], {"EXPORTER_PORT": "http"}, ["EXPORTER_PORT", "1 to 65535"]),
        (["--traffic-split", "0.6,0.6"], {}, ["--traffic-split", "sum to 1", "sum to 1.2"]),
        (["--traffic-split", "1"], {}, ["--traffic-split", "one per version (v1.0,v2.0)"]),
        (["--request-rate", "-3"], {}, ["--request-rate / EXPORTER_REQUEST_RATE", "from 0.001 to 1000"]),
        (["--request-rate", "nan"], {}, ["--request-rate", "from 0.001 to 1000"]),
        (["--window", "5"], {}, ["--window", "10 to 100000"]),
        (["--versions", "v1,v1"], {}, ["--versions", "distinct"]),
        (["--base-error", "0.5,-1"], {}, ["--base-error", "non-negative"]),
        (["--listen-address", "localhost:80"], {}, ["--listen-address", "IP address"]),
        (["--colour", "blue"], {}, ["unrecognized arguments: --colour blue", "--help"]),
        ([], {"EXPORTER_PROT": "8000"}, ["EXPORTER_PROT", "EXPORTER_PORT"]),
    ],
)
def test_bad_configuration_names_the_setting_and_what_it_accepts(argv, env, names):
    with pytest.raises(ConfigError) as err:
        load(argv, env)
    message = str(err.value)
    assert "\n" not in message
    for name in names:
        assert name in message
