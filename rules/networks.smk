# Stage 'networks': the network experiments of docs/paper.md section 4 (Figs. 3-12) and claims
# C5-C6. One training job per (experiment, scheme, sigma, seed), tagged gpu=1 at the paper
# scale so that profiles/slurm sends it to a GPU node; aggregation, figures and claims run
# locally. Sigma = layer-wise std (all-weights noise: sigma/sqrt(M)).
#
# Checkpoints go to results/networks/checkpoints/, OUTSIDE the declared outputs: Snakemake
# deletes the outputs of a failed or killed job but not the checkpoint, so rerunning the job
# resumes where it stopped (bit-exact on CPU). The job deletes it after writing its outputs.
from noise_injection.networks.experiments import (
    NUMERICS,
    configured,
    configured_figures,
    run_settings,
    SCHEMES,
    dataset_flag,
    run_paths,
    swept,
    trained,
)

NETWORKS = config["networks"]
# the paper's experiments this scale runs, and the figures that show only those
EXPERIMENTS = configured(NETWORKS)
FIGURES = configured_figures(NETWORKS)
# the width sweep's experiments (beyond the paper; networks.width_sweep), and every trained one
SWEPT = swept(NETWORKS)
TRAINED = trained(NETWORKS)


rule download_dataset:
    output:
        f"{NETWORKS['data_root']}/{{dataset}}.verified",
    log:
        "logs/networks/download_{dataset}.log",
    wildcard_constraints:
        dataset="fashion_mnist|cifar10",
    localrule: True
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/networks/download.py"


rule train_network:
    input:
        lambda wildcards: dataset_flag(NETWORKS, wildcards.experiment),
    output:
        json="results/networks/{experiment}/{scheme}_sigma{sigma}_seed{seed}.json",
        npz="results/networks/{experiment}/{scheme}_sigma{sigma}_seed{seed}.npz",
    log:
        "logs/networks/train/{experiment}/{scheme}_sigma{sigma}_seed{seed}.log",
    wildcard_constraints:
        experiment="|".join(TRAINED),
        scheme="|".join(SCHEMES),
        sigma=r"[0-9.]+",
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: NETWORKS["threads"]
    resources:
        gpu=NETWORKS["gpu"],
        runtime=lambda wildcards: NETWORKS["experiments"][wildcards.experiment][
            "resources"
        ]["runtime"],
        mem_mb=lambda wildcards: NETWORKS["experiments"][wildcards.experiment][
            "resources"
        ]["mem_mb"],
        gpu_mem_mb=lambda wildcards: NETWORKS["experiments"][wildcards.experiment][
            "resources"
        ]["gpu_mem_mb"],
    params:
        checkpoint="results/networks/checkpoints/{experiment}/{scheme}_sigma{sigma}_seed{seed}.pt",
        # the experiment's settings that change the numbers: a run is redone when they change
        # (e.g. another scale), not when only its sigma list, figures or resources do
        experiment=lambda wildcards: run_settings(
            NETWORKS["experiments"][wildcards.experiment]
        ),
        # device, bf16, channels_last: they change the numbers too
        numerics={k: NETWORKS[k] for k in NUMERICS},
    script:
        "../scripts/networks/train.py"


rule aggregate_network:
    input:
        json=lambda wildcards: run_paths(wildcards.experiment, NETWORKS, "json"),
        npz=lambda wildcards: run_paths(wildcards.experiment, NETWORKS, "npz"),
    output:
        curves="results/networks/{experiment}/curves.csv",
        summary="results/networks/{experiment}/summary.csv",
        finals="results/networks/{experiment}/finals.csv",
    log:
        "logs/networks/aggregate_{experiment}.log",
    wildcard_constraints:
        experiment="|".join(TRAINED),
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/networks/aggregate.py"


for _figure, _spec in FIGURES.items():

    rule:
        name:
            f"network_figure_{_figure}"
        input:
            curves=[f"results/networks/{e}/curves.csv" for e in _spec.experiments],
            summary=[f"results/networks/{e}/summary.csv" for e in _spec.experiments],
        output:
            pdf=f"figures/{_figure}.pdf",
            png=figure_report(_figure, "networks"),
        log:
            f"logs/networks/{_figure}.log",
        localrule: True
        conda:
            "../envs/analysis.yaml"
        params:
            figure=_figure,
            paper=paper_registry(),
        script:
            "../scripts/networks/figure.py"

    rule:
        name:
            f"fig{_spec.number}"
        input:
            figure_files(_figure),
        localrule: True


rule network_claims:
    input:
        finals=[f"results/networks/{e}/finals.csv" for e in EXPERIMENTS],
    output:
        "results/networks/claims.csv",
    log:
        "logs/networks/claims.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        numbers=paper_registry(),
        readings=paper_readings(),
        constants=verdict_constants(),
    script:
        "../scripts/networks/claims.py"


# The width sweep (beyond the paper, docs/width_sweep.md): its runs, aggregated per width.
rule width_sweep:
    input:
        [f"results/networks/{e}/finals.csv" for e in SWEPT],
    localrule: True


rule networks:
    input:
        [figure_files(name) for name in FIGURES],
        "results/networks/claims.csv",
        rules.width_sweep.input if SWEPT else [],
    localrule: True
