"""Variance explosion vs width (section 3, Figs. 1-2): Monte Carlo of perturbed linear nets,
the batched Fig. 2 dynamics and the width study. Used by rules/variance.smk.
"""
