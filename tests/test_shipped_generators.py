"""Shipping and the README sections (noise_injection.workflow.shipped, shipped_readme) on a
synthetic shipped run written here: the full CPU scale's records (App. Fig. 7 and the width
sweep) with known final values, their tables rebuilt by the workflow's functions. The README
sections report those values; the tables' comparison catches what it must and only that;
shipping refuses uncommitted code or records before it touches anything."""

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from noise_injection.networks import data as D
from noise_injection.networks.experiments import METRICS, run_paths, runs, seeds, trained
from noise_injection.workflow import shipped
from noise_injection.workflow.tolerances import tolerance
from noise_injection.workflow import shipped_readme as R

CLEAN, DIRTY = "a" * 40, "b" * 40 + "-dirty"
#: The synthetic sweep: all-weights noise breaks at 0.06 (w / 125)^-0.35, layer-wise at
#: 0.11 (w / 125)^-0.12, the drop linear in log sigma (6 points per unit), no seed noise.
TRUTH = {"layer": (0.11, -0.12), "all": (0.06, -0.35)}
GD_ACC = {0: 78.0, 1: 79.0, 2: 80.0}
WALL = 10.0


def onset(scheme, width):
    at125, slope = TRUTH[scheme]
    return at125 * (width / 125) ** slope


def final_acc(experiment, scheme, sigma, seed):
    if "sweep" not in experiment:
        return GD_ACC[seed] + {"none": 0.0, "layer": 2.0, "all": 1.0}[scheme]
    if scheme == "none":
        return GD_ACC[seed]
    width = experiment["sweep"]["width"]
    return GD_ACC[seed] - 2.0 - 6.0 * (math.log(sigma) - math.log(onset(scheme, width)))


def write_run(dest, name, experiment, scheme, sigma, seed, revision=CLEAN):
    epochs = np.unique(np.round(np.geomspace(1, experiment["epochs"], 12))).astype(int)
    epochs = np.concatenate([[0], epochs])
    acc = final_acc(experiment, scheme, float(sigma), seed)
    arrays = {"epoch": epochs.astype(float), "lr": np.zeros(len(epochs)),
              "train_loss": 2.3 * (1 + epochs) ** -0.8, "train_acc": np.full(len(epochs), 99.0),
              "test_loss": np.full(len(epochs), 0.7),
              "test_acc": np.linspace(10.0, acc, len(epochs)),
              "hessian_trace": np.full(len(epochs), 50.0 + seed)}
    folder = dest / "results" / "networks" / name
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{scheme}_sigma{sigma}_seed{seed}"
    np.savez(folder / f"{stem}.npz", **arrays)
    record = {"config": {**experiment, "experiment": name, "scheme": scheme,
                         "sigma": float(sigma)},
              "seed": seed, "status": "ok", "wall_time_s": WALL,
              "provenance": {"versions": {"torch": "2.0", "numpy": "2.0"},
                             "git_revision": revision, "host": "h",
                             "numerics": {"torch": {"num_threads": 2}}},
              "wall_time_total_s": WALL,
              "precision": {"dtype": "float32", "tf32_matmul": False, "tf32_cudnn": False},
              "data_source": [{"file": f, "content_sha256": h}
                              for f, h in D.FASHION_MNIST_CONTENT_SHA256.items()],
              "steps": experiment["epochs"]}
    (folder / f"{stem}.json").write_text(json.dumps(record))
    assert set(arrays) >= {"epoch", *METRICS}


def write_records(dest, revision=CLEAN):
    networks = shipped.cpu_config()["networks"]
    for name in trained(networks):
        experiment = networks["experiments"][name]
        for scheme, sigma in runs(experiment):
            for seed in seeds(networks, name):
                write_run(dest, name, experiment, scheme, sigma, seed, revision)
    return networks


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A shipped directory: the records, the tables rebuilt from them, a provenance, and the
    real variant beside them."""
    dest = tmp_path_factory.mktemp("shipped")
    networks = write_records(dest)
    for relative, table in shipped.rebuild_tables(dest).items():
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(dest / relative, index=False)
    found = shipped.records(dest)
    shipped.write_json(dest / "PROVENANCE.json", {
        **shipped.record_provenance(found), "derived_revision": CLEAN, "derived": [],
        "machine": {"cpu": "a CPU", "cores": 2, "memory_gib": 8.0, "platform": "p"},
        "shipped_utc": "2026-01-01T00:00:00Z", "wall_time_s": None,
        "training_wall_time_s": shipped.training_wall_time(found, dest), "files": 0,
        "note": "synthetic"})
    shutil.copytree(shipped.SHIPPED / shipped.VARIANT, dest / shipped.VARIANT)
    return dest, networks


def test_the_sweep_section_reports_the_onsets_fits_verdicts_and_measured_time(synthetic):
    dest, networks = synthetic
    text = R.sweep_section(dest)
    assert text.startswith(R.SWEEP_MARKERS[0]) and text.endswith(R.SWEEP_MARKERS[1])
    widths = networks["width_sweep"]["widths"]
    n_runs = sum(len(run_paths(n, networks, "json")) for n in trained(networks)
                 if "sweep" in networks["experiments"][n])
    assert f"Measured: {n_runs} runs, {n_runs * WALL / 3600:.1f} h of training" in text
    for width in widths:  # no seed noise: the onset is the truth, its interval degenerate
        row = next(line for line in text.splitlines() if line.startswith(f"| {width} |"))
        assert f"{onset('layer', width):.3g} [{onset('layer', width):.3g}," in row
        assert f"{onset('all', width):.3g}" in row and "2/2 measured" in row
    fit_line = next(line for line in text.splitlines() if line.startswith("| all |"))
    assert fit_line.startswith(f"| all | {-0.35:+.3g} ")
    for claim in ("W1", "W2", "W3", "W4"):
        assert f"| {claim} | " in text
    assert "![The width sweep on real FashionMNIST](results-cpu/figures/width_sweep.png)" in text
    assert "| 0.01 |" in text and "| 0.1 |" in text


def test_the_cpu_section_puts_the_paper_ours_and_the_variant_side_by_side(synthetic):
    dest, _ = synthetic
    assert R.main_run_shipped(dest)
    text = R.cpu_section(dest)
    gd = next(line for line in text.splitlines() if line.startswith("| test acc | plain GD |"))
    mean, std = np.mean(list(GD_ACC.values())), np.std(list(GD_ACC.values()), ddof=1)
    variant = pd.read_csv(dest / shipped.VARIANT / "results/networks/mlp3_narrow/summary.csv")
    v = variant[(variant.scheme == "none") & (variant.metric == "test_acc")].iloc[0]
    assert gd == (f"| test acc | plain GD | 77.5 % | {mean:.1f} % +- {std:.1f} % (3/3) | "
                  f"{v['mean']:.1f} % +- {v['std']:.1f} % (3/3) |")
    assert R.NOT_SHIPPED not in text
    assert "| F7a | plain GD | **" in text and "results-cpu/figures/fig7_mlp3_narrow.png" in text


def test_an_unshipped_part_says_so_and_names_the_command(synthetic, tmp_path):
    dest, _ = synthetic
    shutil.copytree(dest / shipped.VARIANT, tmp_path / shipped.VARIANT)
    shutil.copy2(dest / "PROVENANCE.json", tmp_path / "PROVENANCE.json")
    assert not R.main_run_shipped(tmp_path)
    assert R.NOT_SHIPPED in R.cpu_section(tmp_path) and R.SHIP in R.cpu_section(tmp_path)
    assert R.NOT_SHIPPED in R.sweep_section(tmp_path)


def test_table_comparison_allows_the_float_tolerance_and_nothing_else(synthetic, tmp_path):
    dest, _ = synthetic
    original = pd.read_csv(dest / "results/networks/width_sweep/fits.csv")
    path = tmp_path / "fits.csv"
    original.to_csv(path, index=False)
    assert shipped.table_mismatches(original, path) == []
    nudged = original.copy()
    rtol = tolerance("shipped_rebuild").rtol
    nudged.loc[0, "slope"] *= 1 + rtol / 2
    assert shipped.table_mismatches(nudged, path) == []
    nudged.loc[0, "slope"] *= 1 + 1e3 * rtol
    assert "row 0 column 'slope'" in shipped.table_mismatches(nudged, path)[0]
    claims = pd.read_csv(dest / "results/networks/width_sweep/claims.csv")
    claims.to_csv(path, index=False)
    changed = claims.copy()
    changed.loc[1, "verdict"] = "opposite" if claims.loc[1, "verdict"] != "opposite" else "x"
    assert "row 1 column 'verdict'" in shipped.table_mismatches(changed, path)[0]
    assert "rows" in shipped.table_mismatches(claims.iloc[1:], path)[0]


def test_ship_refuses_uncommitted_code_or_records_before_touching_anything(tmp_path,
                                                                         monkeypatch):
    workdir, dest = tmp_path / "run", tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("untouched")
    monkeypatch.setattr(shipped, "git_revision", lambda root: DIRTY)
    with pytest.raises(ValueError, match="this repository.*clean commit"):
        shipped.ship(workdir, dest)
    monkeypatch.setattr(shipped, "git_revision", lambda root: CLEAN)
    networks = shipped.cpu_config()["networks"]
    write_run(workdir, "mlp3_narrow", networks["experiments"]["mlp3_narrow"], "none", "0", 0,
              revision=DIRTY)
    with pytest.raises(ValueError, match="none_sigma0_seed0.json.*clean commit"):
        shipped.ship(workdir, dest)
    write_run(workdir, "mlp3_narrow", networks["experiments"]["mlp3_narrow"], "none", "0", 0)
    with pytest.raises(ValueError, match="missing or differs"):
        shipped.ship(workdir, dest)
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]
