"""Finite-dimensional models of section 2 (Lasso, group Lasso, nuclear norm): models, PGD,
synthetic data, convex references and their comparison. Used by rules/finite.smk.

The public solvers ``fit_lasso_pgd``, ``fit_group_lasso_pgd`` and ``fit_nuclear_pgd`` are
importable from here (torch is imported on first use).
"""

__all__ = ["fit_lasso_pgd", "fit_group_lasso_pgd", "fit_nuclear_pgd"]


def __getattr__(name):
    if name in __all__:
        from noise_injection.finite import pgd

        return getattr(pgd, name)
    raise AttributeError(f"module 'noise_injection.finite' has no attribute {name!r}")
