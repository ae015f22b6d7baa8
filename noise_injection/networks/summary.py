"""Summaries of an experiment's runs over seeds: mean, std (ddof=1), s.e.m. and counts, per
scheme, sigma (layer-wise std; all-weights noise uses sigma/sqrt(M)) and metric, and the mean
and std of the log values (for bands on log axes, which never reach zero). Kept apart from the
training code so that aggregation jobs do not import the trainer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from noise_injection.networks.experiments import METRICS, run_stem, sigma_label
from noise_injection.base.inputs import input_error, read_json, read_npz, read_table, \
    require_rows


def _mean_std_sem(values: pd.Series) -> pd.Series:
    v = values.dropna().to_numpy(dtype=float)
    n = len(v)
    std = float(v.std(ddof=1)) if n > 1 else float("nan")
    logs = np.log(v) if n and (v > 0).all() else np.full(n, np.nan)
    return pd.Series({"mean": v.mean() if n else float("nan"), "std": std,
                      "sem": std / np.sqrt(n) if n > 1 else float("nan"), "n": n,
                      "log_mean": logs.mean() if n else float("nan"),
                      "log_std": float(logs.std(ddof=1)) if n > 1 else float("nan")})


def read_runs(json_paths, npz_paths) -> pd.DataFrame:
    """The runs of one experiment in long form (columns scheme, sigma, seed, status, epoch,
    metric, value: one row per run, evaluation epoch and metric), from their JSON records
    and NPZ histories, each checked first: it parses, holds the run its file name says, and
    has every metric at every evaluation epoch (:class:`InputError` naming the file)."""
    rows = []
    for json_path, npz_path in zip(json_paths, npz_paths):
        record = read_json(json_path, keys=("config.scheme", "config.sigma", "seed", "status"))
        config = record["config"]
        stem = run_stem(config["scheme"], sigma_label(config["sigma"]), record["seed"])
        if stem != Path(json_path).stem:
            raise input_error(json_path, f"holds run {stem}, not the run its name says")
        arrays = read_npz(npz_path, keys=("epoch", *METRICS))
        lengths = {k: len(arrays[k]) for k in ("epoch", *METRICS)}
        if len(set(lengths.values())) != 1:
            raise input_error(npz_path, f"arrays of different lengths {lengths}")
        for metric in METRICS:
            for epoch, value in zip(arrays["epoch"], arrays[metric]):
                rows.append({"scheme": config["scheme"], "sigma": config["sigma"],
                             "seed": record["seed"], "status": record["status"],
                             "epoch": int(epoch), "metric": metric, "value": float(value)})
    return pd.DataFrame(rows)


def summarize(runs_long: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean, std (ddof=1), s.e.m., count, and mean and std (ddof=1) of the log values (NaN
    unless every value is positive) over seeds.

    ``runs_long`` has columns scheme, sigma, seed, status, epoch, metric, value (one row per
    run, evaluation epoch and metric). Returns (curves: per scheme, sigma, metric and epoch;
    final: per scheme, sigma and metric at each run's last evaluation of ok runs, with
    n_runs and n_diverged). Diverged runs stay in the curves up to their divergence.
    """
    keys = ["scheme", "sigma", "metric"]
    curves = (runs_long.groupby(keys + ["epoch"])["value"].apply(_mean_std_sem)
              .unstack().reset_index())
    last = runs_long.sort_values("epoch").groupby(keys + ["seed"]).tail(1)
    ok = last[last["status"] == "ok"]
    final = ok.groupby(keys)["value"].apply(_mean_std_sem).unstack()
    counts = last.groupby(keys).agg(n_runs=("seed", "nunique"),
                                    n_diverged=("status", lambda s: int((s != "ok").sum())))
    final = counts.join(final).reset_index()
    return curves, final


def seed_finals(runs_long: pd.DataFrame) -> pd.DataFrame:
    """Per run (scheme, sigma, seed) and metric: status, the value at the run's last
    evaluation and, for test accuracy, its peak over evaluations (metric ``test_acc_peak``):
    the per-seed table the claims pair across schemes. A diverged run keeps its status and its
    last value before divergence."""
    keys = ["scheme", "sigma", "seed", "metric"]
    ordered = runs_long.sort_values("epoch")
    last = ordered.groupby(keys).tail(1)
    peak = (ordered[ordered["metric"] == "test_acc"].groupby(keys[:3])
            .agg(status=("status", "last"), value=("value", "max")).reset_index()
            .assign(metric="test_acc_peak"))
    return (pd.concat([last[keys + ["status", "value"]], peak[keys + ["status", "value"]]])
            .sort_values(keys).reset_index(drop=True))


#: Columns of the tables :func:`summarize` writes (curves.csv, summary.csv) and of
#: :func:`seed_finals` (finals.csv).
CURVE_COLUMNS = ("scheme", "sigma", "metric", "epoch", "mean", "std", "sem", "n", "log_mean",
                 "log_std")
SUMMARY_COLUMNS = ("scheme", "sigma", "metric", "n_runs", "n_diverged", "mean", "std", "sem",
                   "n")
FINAL_COLUMNS = ("scheme", "sigma", "seed", "metric", "status", "value")


def read_checked(path, columns, series, metrics) -> pd.DataFrame:
    """curves.csv or summary.csv of one experiment (rule aggregate_network), checked: the
    ``columns`` and a row for every (scheme, sigma) of ``series`` and metric of ``metrics``;
    :class:`~noise_injection.base.inputs.InputError` naming the file and what is missing
    otherwise."""
    table = read_table(path, "aggregate_network", columns)
    require_rows(table, path, [{"scheme": scheme, "sigma": float(sigma), "metric": metric}
                               for scheme, sigma in series for metric in metrics],
                 "aggregate_network")
    return table
