"""The readability check every figure passes before it is saved
(noise_injection.workflow.plotting.check_figure): each problem is found, and a clean figure
has none. The smoke run (tests/test_workflow.py) draws every figure through this check."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from noise_injection.workflow.plotting import check_figure, save_figure, use_style

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
