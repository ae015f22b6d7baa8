"""Rule finite_figure_smoothing: Monte-Carlo smoothed risk vs the closed form over sigma."""

import matplotlib.pyplot as plt

from noise_injection.base.plotting import SCHEME_COLORS, legend_beside, save_figure, use_style
from noise_injection.base.inputs import read_table
from noise_injection.base.results import Stopwatch, write_figure_record
from noise_injection.base.runlog import log_to_file

log_to_file(snakemake.log[0])
clock = Stopwatch()
table = read_table(snakemake.input[0])
titles = {"lasso": "Hadamard (Lasso)", "group_lasso": "grouped (group Lasso)",
          "nuclear": "two-layer linear (nuclear norm)"}
use_style()
models = list(dict.fromkeys(table.model))
fig, axes = plt.subplots(2, len(models), figsize=(4 * len(models), 6), sharex=True,
                         squeeze=False)
for (ax_risk, ax_z), model in zip(axes.T, models):
    rows = table[table.model == model]
    ax_risk.plot(rows.sigma, rows.smoothed, color=SCHEME_COLORS["reference"],
                 label=r"closed form $R_{eff} + C(\sigma)$")
    ax_risk.plot(rows.sigma, rows.effective, ls=":", color=SCHEME_COLORS["reff"],
                 label=r"2nd order: $R_{eff}$")
    ax_risk.errorbar(rows.sigma, rows.monte_carlo, yerr=3 * rows.standard_error, fmt="o",
                     mfc="none", color=SCHEME_COLORS["layer"], label="Monte Carlo ± 3 s.e.")
    ax_risk.set(xscale="log", yscale="log", ylabel=r"$R_\sigma(\theta)$", title=titles[model])
    ax_z.axhspan(-3, 3, color="0.9")
    ax_z.plot(rows.sigma, rows.z_exact, "o-", color=SCHEME_COLORS["layer"], label="exact form")
    ax_z.plot(rows.sigma, rows.z_second_order, "s:", color=SCHEME_COLORS["reff"],
              label="2nd order")
    ax_z.set_yscale("symlog", linthresh=3)
    ax_z.set(xlabel=r"$\sigma$ (noise std per parameter)",
             ylabel="(MC - form) / s.e.\n(symlog: linear in [-3, 3])")
legend_beside(axes[0, 0])
legend_beside(axes[1, 0])
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
