"""Configuration errors are reported all at once, with the dotted key and the file: YAML
syntax errors with file and line, checks across fields (sigma lists, plot_sigma,
train_subset, arch_kwargs), and stages that a file leaves out without turning them off."""

import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from noise_injection.networks import nets
from noise_injection.networks.data import DIGITS_NUM_TRAIN
from noise_injection.networks.experiments import ARCH_KWARGS, TRAIN_SIZES
from noise_injection.workflow.config import ConfigError, load_config_file, validate_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"


def smoke_config():
    """The smoke config without YAML aliases (one experiment's edit stays its own)."""
    return json.loads(json.dumps(yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())))


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("scale: smoke\ninjector:\n  width: [3\n  sigma: 0.1\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+:\d+: YAML syntax error.*at line 3"):
        load_config_file(path)


def test_config_command_reports_the_file_and_exits_nonzero(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("scale: [smoke\n")
    proc = subprocess.run([sys.executable, "-m", "noise_injection.workflow.config", str(path),
                           str(ROOT / "config" / "smoke.yaml")], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 1
    assert f"{path}:" in proc.stderr and "smoke.yaml: valid" in proc.stdout


def test_cross_field_problems_are_reported_at_once_with_dotted_keys():
    config = smoke_config()
    experiments = config["networks"]["experiments"]
    experiments["mlp3_narrow"]["sigmas"]["all"] = []
    experiments["mlp5_wide"]["plot_sigma"] = 0.123
    experiments["toy_cnn"]["train_subset"] = 50001
    experiments["toy_cnn"]["dataset"] = "cifar10"
    experiments["fcnn"]["arch_kwargs"] = {"width": 3}
    experiments["mlp3_wide"]["arch_kwargs"] = {}
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA, "my.yaml")
    message = str(err.value)
    for expected in ("my.yaml",
                     "'networks.experiments.mlp3_narrow.sigmas.all' is empty",
                     "'networks.experiments.mlp5_wide.plot_sigma' = 0.123 is not in",
                     "'networks.experiments.toy_cnn.train_subset' = 50001 is larger than the "
                     "50000 training images of cifar10",
                     "'networks.experiments.fcnn.arch_kwargs' has ['width']",
                     "'networks.experiments.mlp3_wide.arch_kwargs' lacks ['widths']"):
        assert expected in message
    assert message.count("\n  - ") == 6  # mlp5_wide: plot_sigma is in neither sigma list


def test_cross_field_checks_run_beside_schema_errors():
    config = smoke_config()
    config["injector"]["sigma"] = -1
    config["networks"]["experiments"]["fcnn"]["sigmas"]["layer"] = []
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert "injector.sigma" in str(err.value) and "fcnn.sigmas.layer' is empty" in str(err.value)


def test_a_stage_left_out_is_an_error_naming_it():
    config = smoke_config()
    del config["variance"]
    with pytest.raises(ConfigError, match=r"my.yaml.*\n  - stage 'variance' has no section"):
        validate_config(config, SCHEMA, "my.yaml")


def test_a_stage_turned_off_may_be_left_out():
    config = smoke_config()
    del config["variance"]
    config["stages_off"] = ["variance"]
    validate_config(config, SCHEMA)
    assert "variance" not in config  # no defaults of another scale filled in


def test_train_sizes_and_arch_kwargs_match_the_library():
    assert TRAIN_SIZES["digits"] == DIGITS_NUM_TRAIN
    assert set(ARCH_KWARGS) == set(nets.ARCHITECTURES)
    for arch, cls in nets.ARCHITECTURES.items():
        parameters = inspect.signature(cls).parameters
        taken = set(parameters) - {"in_features", "in_shape", "num_classes"}
        required = {k for k in taken if parameters[k].default is inspect.Parameter.empty}
        assert ARCH_KWARGS[arch] == (taken, required), arch


def test_a_stage_turned_off_leaves_the_dag(tmp_path):
    config = smoke_config()
    del config["networks"]
    config["stages_off"] = ["networks"]
    path = tmp_path / "no_networks.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--snakefile",
                           str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                           "--configfile", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "finite_pgd" in out and "claims_table" in out
    assert "train_network" not in out and "network_claims" not in out


def test_a_syntax_error_in_the_default_config_names_file_and_line(tmp_path):
    copy = tmp_path / "checkout"
    copy.mkdir()
    for part in ("Snakefile", "config", "rules", "profiles", "report", "noise_injection",
                 "scripts", "notebooks", "envs"):
        source = ROOT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / part)
    config = copy / "config" / "config.yaml"
    config.write_text(config.read_text() + "oops: [1, 2\n")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n"], cwd=copy,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(copy)})
    assert proc.returncode != 0
    lines = len(config.read_text().splitlines())
    assert f"{config}:{lines + 1}:1: YAML syntax error" in proc.stdout + proc.stderr
