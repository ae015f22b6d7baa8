"""What every job script uses: config validation, result records, checked reads of results
(inputs), the code hash of each rule (code), logs, run timings and the figure style. Used by
the Snakefile and every script of rules/*.smk.
Also the artifact tools that read the rules themselves: ``dag`` (rules and jobs as records),
``maps`` (figures/README.md, data/README.md) and ``archive`` (one tarball, dry-run checked).
"""
