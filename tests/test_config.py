"""Configuration validation: defaults are filled, bad keys and values are named."""

from pathlib import Path

import pytest
import yaml

from noise_injection.workflow.config import ConfigError, load_schema, validate_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "smoke.yaml"])
def test_shipped_configs_are_valid(name):
    with open(ROOT / "config" / name) as fh:
        validate_config(yaml.safe_load(fh), SCHEMA)


def test_every_stage_schema_is_inlined():
    schema = load_schema(SCHEMA)
    for stage in ("injector", "finite", "variance", "networks", "review"):
        assert "$ref" not in schema["properties"][stage]
        assert schema["properties"][stage]["type"] == "object"


def quick_config():
    with open(ROOT / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


def test_defaults_are_filled():
    config = quick_config()
    config["injector"] = {}
    validate_config(config, SCHEMA)
    assert config["injector"] == {"width": 32, "sigma": 0.1, "steps": 600, "seed": 0}


def test_unknown_key_is_named_with_the_allowed_ones():
    with pytest.raises(ConfigError) as err:
        validate_config(quick_config() | {"injector": {"widht": 3}}, SCHEMA)
    message = str(err.value)
    assert "widht" in message and "injector" in message and "width" in message


def test_out_of_range_value_is_named():
    with pytest.raises(ConfigError, match=r"injector\.sigma"):
        validate_config(quick_config() | {"injector": {"sigma": -0.1}}, SCHEMA)


def test_bad_enum_lists_choices():
    with pytest.raises(ConfigError, match=r"'scale' = 'huge'.*smoke.*quick.*paper"):
        validate_config(quick_config() | {"scale": "huge"}, SCHEMA)


def test_all_errors_are_reported_at_once():
    with pytest.raises(ConfigError) as err:
        validate_config(quick_config() | {"typo": 1, "injector": {"steps": 0}}, SCHEMA)
    assert "typo" in str(err.value) and "injector.steps" in str(err.value)
