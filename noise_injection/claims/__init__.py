"""The paper's claims judged from our measurements: the registry of the paper's numbers, the
shared verdict rules, each stage's claim rows and the combined claims table. Used by the
claims rules of rules/finite.smk, variance.smk, networks.smk and review.smk.
"""
