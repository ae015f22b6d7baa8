"""Rule finite_figure_group: group norms vs sigma, PGD vs the group Lasso; plain GD."""

import matplotlib.pyplot as plt
import numpy as np

from noise_injection.finite.structure import structures
from noise_injection.finite.plots import contrast_panel, path_panel
from noise_injection.base.plotting import save_figure, use_style
from noise_injection.finite import records
from noise_injection.base.inputs import read_npz
from noise_injection.base.results import Stopwatch, write_figure_record
from noise_injection.base.runlog import log_to_file

log_to_file(snakemake.log[0])
clock = Stopwatch()
data = read_npz(snakemake.input.data, "finite_data", records.DATA["group_lasso"])
pgd = read_npz(snakemake.input.pgd, "finite_pgd", records.PGD)
ref = read_npz(snakemake.input.reference, "finite_reference", records.REFERENCE)
sigmas, mid = pgd["sigmas"], len(pgd["sigmas"]) // 2
norms = structures("group_lasso", data, pgd["pgd"], 2)
gd_norms = structures("group_lasso", data, pgd["gd"], 1)
ref_norms = structures("group_lasso", data, ref["solutions"], 1)
use_style()
fig, (ax_path, ax_gd) = plt.subplots(1, 2, figsize=(11, 4))
path_panel(ax_path, sigmas, norms, ref["path_sigmas"],
           structures("group_lasso", data, ref["path_solutions"], 1), r"group norm $\|\beta_j\|$")
ax_path.set_title("group Lasso path")
contrast_panel(ax_gd, np.arange(norms.shape[-1]), gd_norms[0], norms[mid, 0], ref_norms[mid],
               sigmas[mid], r"$\|\beta_j\|$", r"$\sum_j \|\beta_j\|$")
ax_gd.set_xlabel("group j")
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
