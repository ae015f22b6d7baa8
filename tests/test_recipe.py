"""CONTRIBUTING.md, "Add an experiment", followed on a scratch copy of the checkout: the
recipe's configuration block (read from CONTRIBUTING.md) added to the smoke scale is valid,
trains every run of the new one-hidden-layer MLP with the model it describes, and is drawn
with a caption generated from its configuration; bad names and architectures are refused
naming the key."""

import os
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml

from noise_injection.networks.experiments import added, configured_figures, run_paths
from noise_injection.workflow.config import ConfigError, load_config_file, validate_config
from test_workflow import checkout_copy

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"


def recipe_block() -> dict:
    """The configuration block of the recipe, as CONTRIBUTING.md prints it."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    block = re.search(r"<!-- recipe:experiment -->\n\s*```yaml\n(.*?)\n\s*```", text, re.S)
    assert block, "CONTRIBUTING.md has no recipe block (<!-- recipe:experiment -->)"
    return yaml.safe_load(re.sub(r"^ {3}", "", block.group(1), flags=re.M))


def smoke_with(experiments: dict) -> dict:
    raw = load_config_file(ROOT / "config" / "smoke.yaml")
    raw["networks"]["experiments"].update(experiments)
    return raw


def test_the_recipe_experiment_is_a_figure_of_its_own_without_claims():
    experiments = recipe_block()["networks"]["experiments"]
    networks = validate_config(smoke_with(experiments), SCHEMA)["networks"]
    (name,) = experiments
    assert added(networks) == (name,)
    # the experiment schema's defaults are filled in (config/schema/networks.yaml)
    experiment = networks["experiments"][name]
    assert (experiment["momentum"], experiment["batch_size"], experiment["eval"]["points"],
            experiment["hessian"]["probes"]) == (0.9, 0, 20, 4)
    spec = configured_figures(networks)[f"{name}_curves"]
    assert spec.number is None and spec.experiments == (name,) and spec.kind == "curves"
    # GD and one sigma per scheme, one seed at the smoke scale
    assert len(run_paths(name, networks, "json")) == 3


@pytest.mark.parametrize("edit, message", [
    (lambda e: {"MLP-1": e["mlp1"]},
     r"unknown key\(s\) \['MLP-1'\] under 'networks.experiments'; allowed: names matching"),
    (lambda e: {"mlp1": {**e["mlp1"], "arch": "transformer"}},
     r"'networks.experiments.mlp1.arch' = 'transformer' is not an architecture; choose one "
     r"of \['fcnn', 'mlp', 'resnet18', 'toy_cnn'\]"),
    (lambda e: {"mlp1": {**e["mlp1"], "arch_kwargs": {"width": 3}}},
     r"'networks.experiments.mlp1.arch_kwargs' has \['width'\], which arch 'mlp' does not "
     r"take"),
    (lambda e: {"width_sweep_w4": e["mlp1"]},  # the smoke scale's sweep runs width 4
     r"'networks.experiments' defines \['width_sweep_w4'\], the name\(s\) of the width "
     r"sweep's experiments"),
])
def test_a_bad_experiment_is_refused_naming_the_key(edit, message):
    experiments = edit(recipe_block()["networks"]["experiments"])
    with pytest.raises(ConfigError, match=message):
        validate_config(smoke_with(experiments), SCHEMA, "smoke.yaml")


@pytest.mark.slow
def test_the_recipe_trains_and_draws_a_new_experiment(tmp_path):
    copy = checkout_copy(tmp_path)
    experiments = recipe_block()["networks"]["experiments"]
    (name,) = experiments
    config = tmp_path / "with_recipe.yaml"
    config.write_text(yaml.safe_dump(smoke_with(experiments)))
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONHASHSEED": "0"}
    check = subprocess.run([sys.executable, "-m", "noise_injection.workflow.config",
                            str(config)], cwd=copy, env=env, capture_output=True, text=True)
    assert check.returncode == 0 and "valid" in check.stdout, check.stderr
    workdir = tmp_path / "work"
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--snakefile",
         str(copy / "Snakefile"), "--directory", str(workdir), f"figures/{name}_curves.pdf",
         "--configfile", str(config)], cwd=copy, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    networks = validate_config(smoke_with(experiments), SCHEMA)["networks"]
    for path in run_paths(name, networks, "json"):
        record = yaml.safe_load((workdir / path).read_text())  # JSON is YAML
        assert record["status"] == "ok" and record["config"]["experiment"] == name
        # one hidden layer: two Linear layers, a weight and a bias each
        assert record["num_tensors"] == 4
    png = workdir / "figures" / f"{name}_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the caption, generated from the experiment's configuration as the report renders it
    caption = jinja2.Template((copy / "report" / "experiment_curves.rst").read_text()).render(
        snakemake=type("Job", (), {"config": validate_config(smoke_with(experiments), SCHEMA),
                                   "input": type("Input", (), {"curves": [
                                       f"results/networks/{name}/curves.csv"]})}))
    assert f"**Experiment {name} (beyond the paper)**" in caption
    assert "architecture mlp {'widths': [16]}" in caption and "over 4 iterations" in caption
