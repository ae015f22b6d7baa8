"""Rule injector_figure: per-tensor noise std and perturbation frequency, per scheme."""

import matplotlib.pyplot as plt
import numpy as np

from noise_injection.base.plotting import SCHEME_COLORS, legend_beside, save_figure, use_style
from noise_injection.base.runlog import log_to_file
from noise_injection.base.results import Stopwatch, read_json, write_figure_record

log = log_to_file(snakemake.log[0])
clock = Stopwatch()

record = read_json(snakemake.input[0])
schemes = record["schemes"]
use_style()
fig, (ax_std, ax_freq) = plt.subplots(1, 2, figsize=(9, 3.4))
styles = {"all": (SCHEME_COLORS["all"], "o"), "layer-cyclic": (SCHEME_COLORS["layer"], "s"),
          "layer-random": ("#17becf", "^")}
for label, stats in schemes.items():
    color, marker = styles[label]
    idx = np.arange(stats["num_groups"])
    ax_std.plot(idx, stats["std_ratio"], marker=marker, ls="none", color=color,
                label=f"{label} (nominal {stats['nominal_std']:.3g})")
    freq = np.asarray(stats["counts"]) / record["config"]["steps"]
    ax_freq.plot(idx, freq, marker=marker, ls="none", color=color, label=label)
m = next(iter(schemes.values()))["num_groups"]
ax_std.axhline(1.0, color="k", lw=0.8)
ax_std.set(xlabel="parameter tensor", ylabel="measured std / nominal std",
           title="noise scale per tensor")
ax_freq.axhline(1.0 / m, color="k", lw=0.8, label="1/M")
ax_freq.set(xlabel="parameter tensor", ylabel="fraction of steps perturbed", yscale="log",
            title=f"who is perturbed (M = {m})")
legend_beside(ax_std)
legend_beside(ax_freq)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
