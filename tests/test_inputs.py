"""Consumers check what they read: a truncated NPZ, a JSON cut in half, a curves table
missing a scheme and a summary missing plain GD each stop with an error that names the file,
what is missing and how to rebuild it; result files get the umask's permissions."""

import os
import stat

import numpy as np
import pandas as pd
import pytest

from noise_injection.networks.experiments import FIGURES, figure_series, settings
from noise_injection.networks.summary import (CURVE_COLUMNS, SUMMARY_COLUMNS, read_checked,
                                              summarize)
from noise_injection.base.inputs import InputError, read_json, read_npz, read_table
from noise_injection.base.results import write_json, write_npz

EXPERIMENT = {"sigmas": {"layer": [0.05, 0.1], "all": [0.05, 0.1]}, "plot_sigma": 0.1}


def cut_in_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_npz_names_the_file(tmp_path):
    path = tmp_path / "layer_sigma0.1_seed0.npz"
    write_npz(path, epoch=np.arange(50.0), test_acc=np.random.default_rng(0).random(50))
    assert set(read_npz(path, keys=("epoch", "test_acc"))) == {"epoch", "test_acc"}
    cut_in_half(path)
    with pytest.raises(InputError, match=f"{path}: not a readable .npz.*delete {path}"):
        read_npz(path, keys=("epoch",))


def test_npz_missing_an_array_is_named(tmp_path):
    path = tmp_path / "run.npz"
    write_npz(path, epoch=np.arange(3.0))
    with pytest.raises(InputError, match=r"missing array\(s\) \['test_acc'\]"):
        read_npz(path, keys=("epoch", "test_acc"))


def test_json_cut_in_half_names_the_file(tmp_path):
    path = tmp_path / "run.json"
    write_json(path, {"config": {"scheme": "all", "sigma": 0.1}, "seed": 0, "status": "ok"})
    assert read_json(path, keys=("config.sigma",))["seed"] == 0
    cut_in_half(path)
    with pytest.raises(InputError, match=f"{path}: not valid JSON"):
        read_json(path)


def test_json_missing_a_nested_key_is_named(tmp_path):
    path = tmp_path / "run.json"
    write_json(path, {"config": {"scheme": "all"}, "seed": 0})
    with pytest.raises(InputError, match=r"\['config.sigma', 'status'\]"):
        read_json(path, keys=("config.scheme", "config.sigma", "seed", "status"))


def test_empty_csv_names_the_file_and_the_rule(tmp_path):
    path = tmp_path / "curves.csv"
    path.write_text("")
    with pytest.raises(InputError, match="curves.csv.*--forcerun aggregate_network"):
        read_table(path, "aggregate_network", CURVE_COLUMNS)


def experiment_tables(tmp_path, drop):
    """curves.csv and summary.csv of two seeds of every setting of EXPERIMENT, written by
    the real aggregation (summarize), without the runs of scheme ``drop``."""
    rows = [{"scheme": scheme, "sigma": sigma, "seed": seed, "status": "ok", "epoch": epoch,
             "metric": metric, "value": float(seed + epoch)}
            for scheme, sigma in settings(EXPERIMENT) if scheme != drop
            for seed in (0, 1) for epoch in (0, 1, 2)
            for metric in ("test_acc", "train_loss", "hessian_trace")]
    curves, final = summarize(pd.DataFrame(rows))
    curves.to_csv(tmp_path / "curves.csv", index=False)
    final.to_csv(tmp_path / "summary.csv", index=False)
    return tmp_path / "curves.csv", tmp_path / "summary.csv"


def test_complete_tables_pass(tmp_path):
    curves, summary = experiment_tables(tmp_path, drop=None)
    series = figure_series(FIGURES["fig7_mlp3_narrow"], {"mlp3_narrow": EXPERIMENT})
    assert series == {"mlp3_narrow": [("none", 0.0), ("layer", 0.1), ("all", 0.1)]}
    assert len(read_checked(curves, CURVE_COLUMNS, series["mlp3_narrow"], ("test_acc",)))
    assert len(read_checked(summary, SUMMARY_COLUMNS, settings(EXPERIMENT), ("test_acc",)))


def test_curves_missing_a_scheme_stop_the_figure(tmp_path):
    curves, _ = experiment_tables(tmp_path, drop="all")
    series = figure_series(FIGURES["fig7_mlp3_narrow"], {"mlp3_narrow": EXPERIMENT})
    with pytest.raises(InputError, match=r"curves.csv: no rows for scheme=all sigma=0.1 "
                                         r"metric=test_acc.*--forcerun aggregate_network"):
        read_checked(curves, CURVE_COLUMNS, series["mlp3_narrow"], ("test_acc", "train_loss"))


def test_summary_missing_gd_stops_the_claims(tmp_path):
    _, summary = experiment_tables(tmp_path, drop="none")
    with pytest.raises(InputError, match="summary.csv: no rows for scheme=none sigma=0.0"):
        read_checked(summary, SUMMARY_COLUMNS, settings(EXPERIMENT), ("test_acc",))


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_result_files_get_the_umasks_permissions(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "r.json", {"a": 1})
        write_npz(tmp_path / "r.npz", a=np.zeros(2))
    finally:
        os.umask(old)
    for name in ("r.json", "r.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_a_variance_record_without_a_declared_key_names_file_key_and_rule(tmp_path):
    import json

    from noise_injection.variance import records

    path = tmp_path / "width300.json"
    path.write_text(json.dumps({k: 1 for k in records.DYNAMICS if k != "effective_risk"}))
    with pytest.raises(InputError, match=r"width300.json: missing key\(s\) \['effective_risk'\]"
                                         r".*--forcerun variance_dynamics"):
        read_json(path, "variance_dynamics", records.DYNAMICS)
