"""Rule finite_figure_nuclear: singular values of M and the rank vs sigma, PGD vs the
nuclear-norm solution, plain GD for contrast."""

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from noise_injection.finite.structure import active, structures
from noise_injection.finite.plots import path_panel
from noise_injection.base.plotting import SCHEME_COLORS, SCHEME_LABELS, legend_beside, save_figure, use_style
from noise_injection.finite import records
from noise_injection.base.inputs import read_npz
from noise_injection.base.results import Stopwatch, write_figure_record
from noise_injection.base.runlog import log_to_file

log_to_file(snakemake.log[0])
clock = Stopwatch()
tol = snakemake.params.cfg["structure_tol"]
data = read_npz(snakemake.input.data, "finite_data", records.DATA["nuclear"])
pgd = read_npz(snakemake.input.pgd, "finite_pgd", records.PGD)
ref = read_npz(snakemake.input.reference, "finite_reference", records.REFERENCE)
sigmas = pgd["sigmas"]
values = structures("nuclear", data, pgd["pgd"], 2)
ref_values = structures("nuclear", data, ref["solutions"], 1)
path_values = structures("nuclear", data, ref["path_solutions"], 1)
gd_values = structures("nuclear", data, pgd["gd"], 1)


def ranks(magnitudes, scale):
    return active(magnitudes, scale[..., None], tol).sum(-1)


use_style()
fig, (ax_sv, ax_rank) = plt.subplots(1, 2, figsize=(11, 4))
path_panel(ax_sv, sigmas, values, ref["path_sigmas"], path_values, "singular value of M")
ax_sv.set_title("singular values of M = W2 W1")
pgd_ranks = ranks(values, ref_values.max(-1)[:, None])
ax_rank.step(ref["path_sigmas"], ranks(path_values, path_values.max(-1)), where="mid",
             color=SCHEME_COLORS["reference"], label=SCHEME_LABELS["reference"])
ax_rank.errorbar(sigmas, pgd_ranks.mean(1), yerr=pgd_ranks.std(1), fmt="o", mfc="none",
                 color=SCHEME_COLORS["layer"], label="PGD (mean ± std over seeds)")
gd_rank = ranks(gd_values, ref_values.max(-1)[len(sigmas) // 2][None]).mean()
ax_rank.axhline(gd_rank, ls="--", color=SCHEME_COLORS["none"], label="plain GD")
ax_rank.set(xlabel=r"$\sigma$ (noise std per parameter)",
            ylabel=f"rank (singular values > {tol:g} x largest)", title="rank")
ax_rank.yaxis.set_major_locator(MaxNLocator(integer=True))
legend_beside(ax_rank)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
