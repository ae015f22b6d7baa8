"""Summaries of an experiment's runs over seeds: mean, std (ddof=1), s.e.m. and counts, per
scheme, sigma (layer-wise std; all-weights noise uses sigma/sqrt(M)) and metric, and the mean
and std of the log values (for bands on log axes, which never reach zero). Kept apart from the
training code so that aggregation jobs do not import the trainer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from noise_injection.workflow.inputs import read_table, require_rows


def _mean_std_sem(values: pd.Series) -> pd.Series:
    v = values.dropna().to_numpy(dtype=float)
    n = len(v)
    std = float(v.std(ddof=1)) if n > 1 else float("nan")
    logs = np.log(v) if n and (v > 0).all() else np.full(n, np.nan)
    return pd.Series({"mean": v.mean() if n else float("nan"), "std": std,
                      "sem": std / np.sqrt(n) if n > 1 else float("nan"), "n": n,
                      "log_mean": logs.mean() if n else float("nan"),
                      "log_std": float(logs.std(ddof=1)) if n > 1 else float("nan")})


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


#: Columns of the tables :func:`summarize` writes (curves.csv, summary.csv).
CURVE_COLUMNS = ("scheme", "sigma", "metric", "epoch", "mean", "std", "sem", "n", "log_mean",
                 "log_std")
SUMMARY_COLUMNS = ("scheme", "sigma", "metric", "n_runs", "n_diverged", "mean", "std", "sem",
                   "n")


def read_checked(path, columns, series, metrics) -> pd.DataFrame:
    """curves.csv or summary.csv of one experiment (rule aggregate_network), checked: the
    ``columns`` and a row for every (scheme, sigma) of ``series`` and metric of ``metrics``;
    :class:`~noise_injection.workflow.inputs.InputError` naming the file and what is missing
    otherwise."""
    table = read_table(path, "aggregate_network", columns)
    require_rows(table, path, [{"scheme": scheme, "sigma": float(sigma), "metric": metric}
                               for scheme, sigma in series for metric in metrics],
                 "aggregate_network")
    return table
