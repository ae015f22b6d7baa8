"""The top layer: the tools that read the rules or every stage (see noise_injection/base for
the layers). For the Snakefile and rules/*.smk: config validation (``config``), the code hash
of each rule (``code``), the deviations list (``deviations``, config/deviations.yaml, with
``codefacts``), run timings (``timings``) and the verdicts' calibration (``calibration``).
For the repository's generated documents and checks: ``dag`` (rules and jobs as records),
``maps`` (figures/README.md, data/README.md), ``gallery`` and ``quicknumbers`` (the README's
generated numbers), ``shipped`` and ``shipped_readme`` (the shipped CPU-scale results),
``tolerances`` (config/tolerances.yaml), ``docnumbers`` (numbers in documents), ``archive`` (one tarball,
dry-run checked), ``screenshot`` and ``generated`` (README blocks).
"""
