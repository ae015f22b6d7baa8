"""What every job script uses: config validation, result records, logs, run timings and the
figure style. Used by the Snakefile and every script of rules/*.smk.
"""
