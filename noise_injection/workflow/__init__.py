"""What every job script uses: config validation, result records, checked reads of results
(inputs), the code hash of each rule (code), logs, run timings, the figure style and the
deviations list (config/deviations.yaml). Used by the Snakefile and every script of rules/*.smk.
Also the artifact tools that read the rules themselves: ``dag`` (rules and jobs as records),
``maps`` (figures/README.md, data/README.md) and ``archive`` (one tarball, dry-run checked).
"""
