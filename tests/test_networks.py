"""The networks stage: configs and schema, the paper-scale job set (all GPU-tagged), the
summaries over seeds (the claims verdicts: tests/test_network_claims.py)."""

import copy
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from noise_injection.workflow.config import ConfigError, validate_config
from noise_injection.networks.experiments import EXPERIMENTS, configured, experiment_problems, run_paths, runs, seeds, sigma_label, swept, trained
from noise_injection.networks.runs import history_arrays
from noise_injection.networks.summary import summarize

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"


def load(scale):
    with open(ROOT / "config" / f"{scale}.yaml") as fh:
        return validate_config(yaml.safe_load(fh), SCHEMA)


@pytest.mark.parametrize("scale", ["config", "paper", "smoke"])
def test_every_scale_defines_every_experiment(scale):
    networks = load(scale)["networks"]
    assert set(configured(networks)) == set(EXPERIMENTS)
    assert set(networks["experiments"]) == set(EXPERIMENTS) | set(swept(networks))
    for name, experiment in networks["experiments"].items():
        assert experiment_problems(name, experiment) == []


def test_paper_scale_is_the_papers_protocol():
    exp = load("paper")["networks"]["experiments"]
    assert exp["mlp3_wide"]["arch_kwargs"]["widths"] == [5000] * 3
    assert exp["mlp5_wide"]["lr"] == 0.001 and exp["mlp5_wide"]["epochs"] == 20000
    assert all(exp[n]["train_subset"] == 1024 and exp[n]["batch_size"] == 0
               for n in ("mlp3_narrow", "mlp3_wide", "mlp5_narrow", "mlp5_wide"))
    resnet = exp["resnet18"]
    assert (resnet["epochs"], resnet["noise_off_epoch"], resnet["batch_size"]) == (150, 135, 128)
    assert resnet["augment_padding"] == 4 and resnet["arch_kwargs"]["width"] == 64
    assert len(resnet["sigmas"]["layer"]) == 11 and max(resnet["sigmas"]["all"]) == 0.1


@pytest.mark.parametrize("path, value, word", [
    (("experiments", "mlp3_wide", "lr"), -0.1, "exclusiveMinimum"),
    (("experiments", "toy_cnn", "batch_size"), -1, "minimum"),
    (("experiments", "resnet18", "order"), "sorted", "not allowed"),
    (("gpu",), 2, "maximum"),
    (("experiments", "fcnn", "sigmas", "layer"), [0.0], "exclusiveMinimum"),
    (("experiments", "fcnn", "hessian", "probs"), 3, "unknown key"),
])
def test_schema_rejects_bad_values(path, value, word):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    node = config["networks"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=word) as err:
        validate_config(config, SCHEMA)
    assert "networks." + ".".join(path[:-1]) in str(err.value)


def test_plot_sigma_must_be_a_run_sigma():
    experiment = copy.deepcopy(load("config")["networks"]["experiments"]["fcnn"])
    experiment["plot_sigma"] = 0.3
    assert any("plot_sigma" in p for p in experiment_problems("fcnn", experiment))


def test_run_files_cover_every_scheme_sigma_and_seed():
    networks = load("paper")["networks"]
    resnet = networks["experiments"]["resnet18"]
    assert runs(resnet)[:2] == [("none", "0"), ("layer", "0.005")]
    assert sigma_label(1.0) == "1" and sigma_label(0.075) == "0.075"
    paths = run_paths("resnet18", networks, "json")
    assert len(set(paths)) == (1 + 11 + 6) * 3
    assert "results/networks/resnet18/all_sigma0.1_seed2.json" in paths


def test_paper_dry_run_lists_every_run_and_tags_it_gpu(tmp_path):
    """`snakemake -n networks --configfile config/paper.yaml` lists exactly one training job
    per (experiment, scheme, sigma, seed) of the paper, each with gpu=1."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "networks", "--configfile",
         str(ROOT / "config" / "paper.yaml"), "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr
    blocks = [b for b in re.split(r"\n(?=\S*rule )", proc.stdout) if "rule train_network:" in b]
    listed = set()
    for block in blocks:
        wc = dict(re.findall(r"(\w+)=([^,\s]+)", re.search(r"wildcards: (.*)", block).group(1)))
        listed.add((wc["experiment"], wc["scheme"], wc["sigma"], int(wc["seed"])))
        assert re.search(r"resources: .*\bgpu=1\b", block), block
    networks = load("paper")["networks"]
    expected = {(name, scheme, sigma, seed) for name in trained(networks)
                for scheme, sigma in runs(networks["experiments"][name])
                for seed in seeds(networks, name)}
    # the paper's 120 runs, and the width sweep's: 6 widths x (GD + 2 schemes x 6 sigmas) x 3 seeds
    assert len(blocks) == len(expected) == 120 + 6 * 13 * 3
    assert listed == expected


def long_table(values: dict, statuses=None) -> pd.DataFrame:
    """Runs in the aggregation's long format: values[(scheme, sigma)] = finals per seed."""
    rows = []
    for (scheme, sigma), finals in values.items():
        for seed, final in enumerate(finals):
            status = (statuses or {}).get((scheme, sigma, seed), "ok")
            for metric, value in final.items():
                rows += [{"scheme": scheme, "sigma": sigma, "seed": seed, "status": status,
                          "epoch": epoch, "metric": metric, "value": value * epoch / 10}
                         for epoch in (0, 5, 10)]
    return pd.DataFrame(rows)


def test_summary_is_mean_std_sem_of_ok_runs():
    table = long_table({("layer", 0.1): [{"test_acc": 1.0}, {"test_acc": 2.0},
                                         {"test_acc": 6.0}]},
                       statuses={("layer", 0.1, 2): "diverged"})
    curves, final = summarize(table)
    row = final.iloc[0]
    assert (row["n_runs"], row["n_diverged"], row["n"]) == (3, 1, 2)
    assert row["mean"] == 1.5 and row["std"] == pytest.approx(math.sqrt(0.5))
    assert row["sem"] == pytest.approx(0.5)
    at5 = curves[curves["epoch"] == 5].iloc[0]  # curves keep every run up to its end
    assert at5["mean"] == pytest.approx(1.5) and at5["n"] == 3


def test_summary_log_statistics_are_those_of_the_log_values():
    """Geometric bands: mean and std (ddof=1) of log(values), by hand; NaN with a value <= 0."""
    table = long_table({("layer", 0.1): [{"hessian_trace": 1.0}, {"hessian_trace": 100.0}],
                        ("all", 0.1): [{"hessian_trace": -1.0}, {"hessian_trace": 1.0}]})
    curves, final = summarize(table)
    layer = final[final["scheme"] == "layer"].iloc[0]
    assert layer["log_mean"] == pytest.approx(math.log(10.0))
    assert layer["log_std"] == pytest.approx(math.log(100.0) / math.sqrt(2))
    assert np.isnan(final[final["scheme"] == "all"].iloc[0]["log_mean"])


def test_history_arrays_pad_missing_traces():
    arrays = history_arrays({"epoch": [0, 1], "lr": [0.1, 0.1], "train_loss": [1, 2],
                             "train_acc": [1, 2], "test_loss": [1, 2], "test_acc": [1, 2],
                             "hessian_trace": [3.0, float("nan")],
                             "hessian_per_tensor": [[1.0, 2.0], []]})
    assert arrays["hessian_per_tensor"].shape == (2, 2)
    assert np.isnan(arrays["hessian_per_tensor"][1]).all()
