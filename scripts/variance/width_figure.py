"""Rule variance_vs_width_figure: loss variance and tr Cov of the stochastic gradient vs width,
log-log, with fitted slopes beside the exponents derived from the closed forms (this project's
derivation, beyond the paper)."""

import matplotlib.pyplot as plt
import numpy as np

from noise_injection.base.plotting import SCHEME_COLORS, SCHEME_LABELS, legend_beside, save_figure, use_style
from noise_injection.variance import records
from noise_injection.base.results import Stopwatch, read_json, write_figure_record
from noise_injection.base.runlog import log_to_file
from noise_injection.variance.fits import fit_loglog

log = log_to_file(snakemake.log[0])
clock = Stopwatch()
decades = snakemake.params.width_sweep["fit_decades"]
sweeps = [read_json(p, "variance_width", records.WIDTH) for p in snakemake.input]
panels = (("loss_variance", "loss_variance", "variance of the perturbed loss"),
          ("grad_trace_cov", "grad_trace", "tr Cov of the stochastic gradient"))
use_style()
fig, axes = plt.subplots(len(sweeps), 2, figsize=(10, 3.6 * len(sweeps)), squeeze=False)
for row, sweep in zip(axes, sweeps):
    widths = np.asarray(sweep["widths"], dtype=float)
    top = widths >= widths.max() / 10**decades
    for ax, (key, theory_key, title) in zip(row, panels):
        for i, scheme in enumerate(sweep["schemes"]):
            values = np.asarray(sweep[key][i], dtype=float)
            slope, intercept = fit_loglog(widths, values, decades)
            theory = sweep["predicted"][scheme][theory_key]
            color = SCHEME_COLORS[scheme]
            errors = np.asarray(sweep[f"{key}_se"][i]) if f"{key}_se" in sweep else None
            ax.errorbar(widths, values, yerr=errors, fmt="o", color=color, ms=4, capsize=2,
                        label=f"{SCHEME_LABELS[scheme]}: slope {slope:.2f} (derived: {theory:g})")
            ax.plot(widths[top], np.exp(intercept) * widths[top] ** slope, "-",
                    color=color, lw=1)
            log.info("%s %s %s slope %.3f theory %g", sweep["net"], key, scheme, slope, theory)
        depth = f"{sweep['hidden_layers']} hidden layer{'s' if sweep['hidden_layers'] > 1 else ''}"
        ax.set(xscale="log", yscale="log", xlabel="hidden width $d$", ylabel=title,
               title=f"{sweep['activation']} net, {depth}")
        legend_beside(ax, fontsize=7)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
