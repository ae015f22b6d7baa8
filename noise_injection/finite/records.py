"""The arrays of the finite stage's files that its consumers read. Each consumer reads a file
with ``base.inputs.read_npz(path, rule, KEYS)``, so a file that lacks one stops the job
naming the file, the missing arrays and the rule that rebuilds it."""

#: data/finite/<model>.npz, per model
DATA = {"lasso": ("X", "y"), "group_lasso": ("X", "y", "groups"), "nuclear": ("X", "Y")}
#: results/finite/<model>_pgd.npz
PGD = ("sigmas", "seeds", "pgd", "gd", "pgd_finite", "gd_finite")
#: results/finite/<model>_reference.npz
REFERENCE = ("sigmas", "solutions", "path_sigmas", "path_solutions")
