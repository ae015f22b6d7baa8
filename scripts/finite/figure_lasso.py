"""Rule finite_figure_lasso: PGD coefficients over the Lasso path, plain GD for contrast."""

import matplotlib.pyplot as plt
import numpy as np

from noise_injection.finite.plots import contrast_panel, path_panel
from noise_injection.base.plotting import save_figure, use_style
from noise_injection.finite import records
from noise_injection.base.inputs import read_npz
from noise_injection.base.results import Stopwatch, write_figure_record
from noise_injection.base.runlog import log_to_file

log_to_file(snakemake.log[0])
clock = Stopwatch()
pgd = read_npz(snakemake.input.pgd, "finite_pgd", records.PGD)
ref = read_npz(snakemake.input.reference, "finite_reference", records.REFERENCE)
sigmas, mid = pgd["sigmas"], len(pgd["sigmas"]) // 2
use_style()
fig, (ax_path, ax_gd) = plt.subplots(1, 2, figsize=(11, 4))
path_panel(ax_path, sigmas, pgd["pgd"], ref["path_sigmas"], ref["path_solutions"],
           r"coefficient $\beta_i$")
ax_path.set_title(r"Lasso path at $\alpha = 2\sigma^2$")
contrast_panel(ax_gd, np.arange(pgd["gd"].shape[1]), pgd["gd"][0], pgd["pgd"][mid, 0],
               ref["solutions"][mid], sigmas[mid], r"$\beta_i$", r"$\|\beta\|_1$")
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
