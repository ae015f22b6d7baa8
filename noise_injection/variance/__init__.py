"""Variance explosion vs width (section 3, Figs. 1-2): Monte Carlo of perturbed linear nets,
the batched Fig. 2 dynamics, the width study, Fig. 2's sigma calibration and the onset of the
all-weights stall (onset.py). Used by rules/variance.smk.
"""
