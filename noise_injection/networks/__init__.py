"""Network experiments (Figs. 3-12): data sets, architectures, the training loop, Hessian
traces, the experiment table and run summaries. Used by rules/networks.smk.
"""
