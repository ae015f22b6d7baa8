"""The readability check every figure passes before it is saved
(noise_injection.base.plotting.check_figure): each problem is found, and a clean figure
has none. The smoke run (tests/test_workflow.py) draws every figure through this check."""

import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from noise_injection.base.plotting import (
    check_figure,
    geometric_spread,
    save_figure,
    use_style,
)

X = np.arange(1, 11, dtype=float)


def labelled(ax):
    ax.set(xlabel="iterations", ylabel="train loss")
    return ax


def test_a_labelled_figure_with_a_positive_band_on_a_log_axis_passes():
    use_style()
    fig, ax = plt.subplots()
    labelled(ax).plot(X, 1 / X)
    ax.fill_between(X, 0.5 / X, 2 / X)
    ax.set_yscale("log")
    assert check_figure(fig) == []
    plt.close(fig)


def test_an_axis_without_label_is_found():
    fig, ax = plt.subplots()
    ax.plot(X, X)
    ax.set_xlabel("iterations")
    assert check_figure(fig) == ["axes 0 (untitled): y axis has no label"]
    plt.close(fig)


def test_overlapping_tick_labels_are_found():
    fig, ax = plt.subplots(figsize=(2, 2))
    labelled(ax).plot(X, X)
    ax.set_xticks(X, [f"label {x:g}" for x in X])
    problems = check_figure(fig)
    assert problems and all("x tick labels overlap" in p for p in problems)
    plt.close(fig)


@pytest.mark.parametrize("draw", ["band", "errorbar", "line"])
def test_anything_reaching_zero_on_a_log_axis_is_found(draw):
    fig, ax = plt.subplots()
    labelled(ax).plot(X, 1 / X)
    if draw == "band":
        ax.fill_between(X, 1 / X - 0.5, 1 / X + 0.5)
    elif draw == "errorbar":
        ax.errorbar(X, 1 / X, yerr=0.5)
    else:
        ax.plot(X, 1 / X - 0.5)
    ax.set_yscale("log")
    assert check_figure(fig) == ["axes 0 (untitled): something drawn reaches <= 0 on log y axis"]
    plt.close(fig)


def test_a_title_cut_off_at_the_edge_is_found():
    use_style()
    fig, ax = plt.subplots(figsize=(3, 3))
    labelled(ax).plot(X, X)
    fig.suptitle("short")
    assert check_figure(fig) == []
    title = "a title far too long for a figure three inches wide, cut off on both of its sides"
    fig.suptitle(title)
    assert f"text cut off at the figure's edge: {title!r}" in check_figure(fig)
    plt.close(fig)


def test_colliding_minor_labels_of_a_short_log_axis_are_dropped(tmp_path):
    fig, ax = plt.subplots(figsize=(3, 3))
    labelled(ax).plot([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6])
    ax.set_xscale("log")
    assert any("x tick labels overlap" in p for p in check_figure(fig))
    save_figure(fig, tmp_path / "f.png")  # refused without the decluttering
    assert (tmp_path / "f.png").is_file()


def test_save_figure_refuses_a_figure_that_fails_the_check(tmp_path):
    fig, ax = plt.subplots()
    ax.plot(X, X)
    with pytest.raises(ValueError, match="(?s)hard to read.*no label"):
        save_figure(fig, tmp_path / "f.png")
    assert not (tmp_path / "f.png").exists()


@pytest.mark.parametrize("draw", ["line", "band", "markers", "reference line"])
def test_a_legend_over_drawn_data_is_found(draw):
    """A line, band, row of markers or axhline running through the legend's box in the upper
    right fails; the same figure with the legend outside the axes passes."""
    use_style()
    fig, ax = plt.subplots(figsize=(4, 3))
    labelled(ax)
    if draw == "line":
        ax.plot(X, X, label="rising")
    elif draw == "band":
        ax.plot(X, np.ones_like(X), label="flat")
        ax.fill_between(X, 0.0, 2 * X)
    elif draw == "markers":
        ax.plot(X, X, ls="none", marker="o", label="rising")
    else:
        ax.plot(X, np.ones_like(X), label="flat")
        ax.axhline(9.5, label="level")
    ax.set_ylim(0, 10)
    ax.legend(loc="upper right")
    problems = check_figure(fig)
    assert len(problems) == 1 and "axes 0 (untitled): a legend covers drawn data" in problems[0]
    ax.get_legend().remove()
    fig.legend(loc="outside lower center")
    assert check_figure(fig) == []
    plt.close(fig)


def test_a_legend_in_an_empty_corner_passes():
    use_style()
    fig, ax = plt.subplots(figsize=(4, 3))
    labelled(ax).plot(X, X, label="rising")
    ax.fill_between(X, X - 1, X + 1)
    ax.legend(loc="upper left")
    assert check_figure(fig) == []
    plt.close(fig)


def test_the_geometric_spread_uses_the_positive_values_and_counts_the_others():
    """Per column: geometric mean and std (ddof=1) of the positive values, by hand."""
    values = [[1.0, 10.0, -1.0, -3.0],
              [100.0, 10.0, 2.0, 0.0],
              [np.nan, 1000.0, 0.0, np.inf]]
    centre, low, high, nonpositive = geometric_spread(values)
    s0 = np.exp(np.log(100.0) / np.sqrt(2))  # logs 0 and log 100: std log(100)/sqrt(2)
    s1 = np.exp(np.std(np.log([10.0, 10.0, 1000.0]), ddof=1))
    g1 = 10.0 ** (5 / 3)  # (10 * 10 * 1000) ** (1/3)
    np.testing.assert_allclose(centre[:3], [10.0, g1, 2.0])
    np.testing.assert_allclose(low[:3], [10.0 / s0, g1 / s1, 2.0])
    np.testing.assert_allclose(high[:3], [10.0 * s0, g1 * s1, 2.0])
    assert np.isnan(centre[3]) and list(nonpositive) == [0, 0, 2, 2]


def test_a_twin_axis_with_its_own_label_passes():
    use_style()
    fig, ax = plt.subplots()
    labelled(ax).plot(X, X)
    twin = ax.twinx()
    twin.plot(X, 1 / X)
    twin.set(yscale="log", ylabel="the paper's trace")
    assert check_figure(fig) == []
    twin.set_ylabel("")
    assert check_figure(fig) == ["axes 1 (untitled): y axis has no label"]
    plt.close(fig)


def test_the_frozen_style_is_seaborns_paper_ticks_theme():
    """use_style sets exactly what seaborn's theme changes in matplotlib's defaults (its default
    colour map excepted) and gives the one-letter colour codes seaborn's colours, checked in a
    fresh process against seaborn itself."""
    code = (
        "import matplotlib; matplotlib.use('Agg')\n"
        "import matplotlib.colors as mc, matplotlib.pyplot as plt, seaborn as sns\n"
        "from noise_injection.base.plotting import use_style\n"
        "defaults = dict(plt.rcParams)\n"
        "sns.set_theme(context='paper', style='ticks', font_scale=1.1)\n"
        "theme = {k: v for k, v in plt.rcParams.items() if defaults[k] != v and k != 'image.cmap'}\n"
        "codes = {c: mc.to_rgba(c) for c in 'bgrmyck'}\n"
        "plt.rcdefaults(); sns.reset_orig(); mc.colorConverter.colors.update("
        "{c: mc.BASE_COLORS[c] for c in 'bgrmyck'}); mc._colors_full_map.cache.clear()\n"
        "assert all(mc.to_rgba(c) != codes[c] for c in 'bgrmyck')\n"
        "use_style()\n"
        "ours = {k: v for k, v in plt.rcParams.items() if defaults[k] != v and k in theme}\n"
        "assert ours == theme, sorted(set(ours.items()) ^ set(theme.items()), key=str)[:4]\n"
        "assert {c: mc.to_rgba(c) for c in 'bgrmyck'} == codes\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-1500:]
