# Reproduction of "Explicit Regularization in Overparametrized Models via Noise Injection"
# (Orvieto, Raj, Kersting, Bach; AISTATS 2023). The DAG is declared here and in rules/*.smk;
# the math lives in the noise_injection package; scripts/ only connect the two.
import os

from snakemake.utils import min_version

from noise_injection.workflow.code import code_hashes
from noise_injection.workflow.config import load_config_file, stages_on, validate_config

min_version("8.8")


# The default scale is config/config.yaml. A scale given with --configfile REPLACES it
# instead of being merged over it, so no quick-scale experiment leaks into a paper-scale run.
# (a YAML syntax error in the default file is reported with its file and line first; for a
# --configfile, Snakemake parses the file before this Snakefile runs: README, "Configuration")
if not workflow.overwrite_configfiles:
    load_config_file(os.path.join(workflow.basedir, "config", "config.yaml"))

    configfile: "config/config.yaml"


validate_config(
    config,
    os.path.join(workflow.basedir, "config", "schema.yaml"),
    ", ".join(map(str, workflow.overwrite_configfiles)) or "config/config.yaml",
)
# The stages this configuration runs (a file may turn some off with 'stages_off').
STAGES_ON = stages_on(config)


report: "report/workflow.rst"


include: "rules/common.smk"


for _stage in STAGES_ON:

    include: f"rules/{_stage}.smk"


# Every rule that runs a script or notebook carries the content hash of that code (the file and
# the library modules it imports) as its param 'code': with the rerun triggers of the profiles
# (README, "Reruns"), editing the code reruns exactly the jobs that run it and a touch nothing.
# (script and notebook paths are relative to rules/, where every rule lives)
_scripts = {
    _rule: os.path.normpath(os.path.join("rules", _rule.script or _rule.notebook))
    for _rule in workflow.rules
    if _rule.script or _rule.notebook
}
_hashes = code_hashes(workflow.basedir, set(_scripts.values()))
for _rule, _code in _scripts.items():
    _rule.set_params(code=_hashes[_code])


rule all:
    default_target: True
    input:
        [getattr(rules, stage).input for stage in STAGES_ON],
