"""The paper beside ours in the network figures (noise_injection.networks.paper_view): which of
its digitized figures shows an experiment, when our runs share its axes, and its points with
the reading error config/paper_digitized/ states."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from noise_injection.base import digitized, paper_numbers
from noise_injection.networks.paper_view import (
    axis_differences,
    digitized_figure,
    paper_series,
    same_axes,
    typed_readings,
)

CONFIG = Path(__file__).resolve().parents[1] / "config"


def experiment(scale, name):
    return yaml.safe_load((CONFIG / scale).read_text())["networks"]["experiments"][name]


def test_each_digitized_figure_belongs_to_the_experiment_it_shows():
    assert {name: digitized_figure(name) for name in
            ("mlp3_narrow", "mlp3_wide", "mlp5_narrow", "mlp5_wide", "resnet18", "toy_cnn",
             "fcnn")} == {"mlp3_narrow": 7, "mlp3_wide": 8, "mlp5_narrow": 9, "mlp5_wide": 10,
                          "resnet18": 6, "toy_cnn": None, "fcnn": None}


def test_the_cpu_scale_shares_the_papers_axes_and_the_quick_scale_does_not():
    cpu = experiment("cpu.yaml", "mlp3_narrow")
    assert same_axes("mlp3_narrow", cpu)
    assert same_axes("mlp3_narrow", {**cpu, "batch_size": 0})  # validated: 0 = full batch
    quick = experiment("config.yaml", "mlp3_narrow")
    assert not same_axes("mlp3_narrow", quick)
    assert "dataset digits (the paper: fashion_mnist)" in axis_differences("mlp3_narrow", quick)
    assert axis_differences("mlp3_narrow", {**cpu, "epochs": 2000}) == [
        "epochs 2000 (the paper: 10000)"]


def test_a_points_reading_error_is_the_panels_or_a_line_width_where_ambiguous():
    """App. Fig. 7's train loss (log panel): relative error r for a clear point, r compounded
    over 5 pixels / the panel's pixels for an ambiguous one; its test accuracy (linear panel):
    the absolute error."""
    panel = json.loads((digitized.FOLDER / "fig7.json").read_text())["panels"]
    r = panel["train_loss"]["reading_error"]["y"]["relative"]
    px = panel["train_loss"]["reading_error"]["y_error_px"]
    raw = digitized.points(7)
    rows = raw[(raw.metric == "train_loss") & (raw.scheme == "none")].sort_values("x")
    series = paper_series(7, "train_loss", "none")
    ambiguous = rows["ambiguous"].to_numpy()
    assert ambiguous.any() and not ambiguous.all()
    np.testing.assert_allclose((series["read_high"] / series["y"])[~ambiguous], 1 + r)
    np.testing.assert_allclose((series["y"] / series["read_low"])[~ambiguous], 1 + r)
    np.testing.assert_allclose((series["read_high"] / series["y"])[ambiguous],
                               (1 + r) ** (5 / px))
    a = panel["test_acc"]["reading_error"]["y"]["absolute"]
    acc = paper_series(7, "test_acc", "layer")
    clear = ~digitized.points(7).query("metric == 'test_acc' and scheme == 'layer'") \
        .sort_values("x")["ambiguous"].to_numpy()
    np.testing.assert_allclose((acc["read_high"] - acc["y"])[clear], a)


def test_fig6_points_are_at_sigma_with_the_papers_bars():
    """Fig. 6 is read in log10 sigma: the all-weights point read at -0.9994 is at sigma 10**x."""
    series = paper_series(6, "test_acc", "all")
    raw = digitized.points(6).query("metric == 'test_acc' and scheme == 'all'").sort_values("x")
    np.testing.assert_allclose(series["x"], 10.0 ** raw["x"].to_numpy())
    np.testing.assert_allclose(series["band_high"], raw["y_high"].to_numpy())


@pytest.mark.parametrize("sigma", [0.01, 0.05, 0.1])
def test_fig3s_typed_readings_stand_at_the_end_of_its_window(sigma):
    """The registry's Fig. 3 readings (fig3_test_acc; fig3_layer_test_acc and
    fig3_all_test_acc at this sigma), at
    iteration 8000 of the paper's 10k-iteration run (the window's end, 0.8), test accuracy
    only."""
    exp = experiment("paper.yaml", "mlp3_wide")
    points = typed_readings("fig3_mlp_sigma", "mlp3_wide", sigma, exp, "test_acc", (0.1, 0.8))
    gd = paper_numbers.value("fig3_test_acc")
    assert points == [
        ("none", 8000.0, gd, gd, "fig3_test_acc"),
        ("layer", 8000.0, *[paper_numbers.value("fig3_layer_test_acc", at=sigma)] * 2,
         "fig3_layer_test_acc"),
        ("all", 8000.0, *[paper_numbers.value("fig3_all_test_acc", at=sigma)] * 2,
         "fig3_all_test_acc")]
    assert typed_readings("fig3_mlp_sigma", "mlp3_wide", sigma, exp, "train_loss",
                          (0.1, 0.8)) == []


def test_the_cnns_final_readings_stand_at_the_last_epoch_of_the_papers_sigma_only():
    exp = experiment("paper.yaml", "toy_cnn")
    final = paper_numbers.value("fig11_test_acc")
    assert typed_readings("fig11_toy_cnn", "toy_cnn", 0.05, exp, "test_acc") == [
        (s, 3000, v, v, "fig11_test_acc") for s, v in final.items()]
    assert typed_readings("fig11_toy_cnn", "toy_cnn", 0.1, exp, "test_acc") == []
