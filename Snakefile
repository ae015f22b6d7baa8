# Reproduction of "Explicit Regularization in Overparametrized Models via Noise Injection"
# (Orvieto, Raj, Kersting, Bach; AISTATS 2023). The DAG is declared here and in rules/*.smk;
# the math lives in the noise_injection package; scripts/ only connect the two.
import os

from snakemake.utils import min_version

from noise_injection.workflow.config import validate_config

min_version("8.8")


# The default scale is config/config.yaml. A scale given with --configfile REPLACES it
# instead of being merged over it, so no quick-scale experiment leaks into a paper-scale run.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate_config(config, os.path.join(workflow.basedir, "config", "schema.yaml"))


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/injector.smk"
include: "rules/finite.smk"
include: "rules/variance.smk"
include: "rules/networks.smk"
include: "rules/review.smk"


rule all:
    default_target: True
    input:
        rules.injector.input,
        rules.finite.input,
        rules.variance.input,
        rules.networks.input,
        rules.review.input,
