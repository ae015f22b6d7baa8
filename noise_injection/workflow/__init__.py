"""What every job script uses: config validation, result records, logs, run timings, the
figure style and the deviations list (config/deviations.yaml). Used by the Snakefile and every
script of rules/*.smk.
"""
