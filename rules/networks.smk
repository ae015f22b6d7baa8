# Stage 'networks': the network experiments of docs/paper.md section 4 (Figs. 3-12) and claims
# C5-C6. One training job per (experiment, scheme, sigma, seed), tagged gpu=1 at the paper
# scale so that profiles/slurm sends it to a GPU node (networks.runs_per_job: experiment, the
# quick scale: one job per experiment); aggregation, figures and claims run locally.
# Sigma = layer-wise std (all-weights noise: sigma/sqrt(M)).
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
    run_list,
    run_paths,
    swept,
    trained,
    compared_experiments,
    SWEEP_TABLES,
)

NETWORKS = config["networks"]
# the paper's experiments this scale runs, the figures that show only those, and one figure
# per experiment beyond the paper (its curves)
EXPERIMENTS = configured(NETWORKS)
FIGURES = configured_figures(NETWORKS)
# the width sweep's experiments (beyond the paper; networks.width_sweep), and every trained one
SWEPT = swept(NETWORKS)
TRAINED = trained(NETWORKS)
# the paper's MLP experiments trained on its data whose appendix figure was digitized
# (config/paper_digitized/): compared with the paper curve for curve
CURVES = compared_experiments(NETWORKS)
# the claims tables of this stage, for the review stage's combined table
NETWORK_CLAIM_FILES = (
    ["results/networks/claims.csv"]
    + (["results/networks/curves/claims.csv"] if CURVES else [])
    + (["results/networks/width_sweep/claims.csv"] if SWEPT else [])
)


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


if NETWORKS["runs_per_job"] == "run":

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
            runtime=lambda wildcards: experiment_resource(
                wildcards.experiment, "runtime"
            ),
            mem_mb=lambda wildcards: experiment_resource(wildcards.experiment, "mem_mb"),
            gpu_mem_mb=lambda wildcards: experiment_resource(
                wildcards.experiment, "gpu_mem_mb"
            ),
        params:
            checkpoint="results/networks/checkpoints/{experiment}/{scheme}_sigma{sigma}_seed{seed}.pt",
            # the experiment's settings that change the numbers: a run is redone when they
            # change (e.g. another scale), not when only its sigma list, figures or resources do
            experiment=lambda wildcards: run_settings(
                NETWORKS["experiments"][wildcards.experiment]
            ),
            # device, bf16, channels_last: they change the numbers too
            numerics={k: NETWORKS[k] for k in NUMERICS},
        script:
            "../scripts/networks/train.py"

else:
    # networks.runs_per_job: experiment (the quick scale): one job trains every run of an
    # experiment in one process, in run_list order: the same files and numbers
    for _experiment in TRAINED:

        rule:
            name:
                f"train_{_experiment}"
            input:
                dataset_flag(NETWORKS, _experiment),
            output:
                json=run_paths(_experiment, NETWORKS, "json"),
                npz=run_paths(_experiment, NETWORKS, "npz"),
            log:
                f"logs/networks/train/{_experiment}.log",
            conda:
                "../envs/torch.yaml"
            threads: NETWORKS["threads"]
            resources:
                gpu=NETWORKS["gpu"],
                runtime=experiment_resource(_experiment, "runtime")
                * len(run_list(_experiment, NETWORKS)),
                mem_mb=experiment_resource(_experiment, "mem_mb"),
                gpu_mem_mb=experiment_resource(_experiment, "gpu_mem_mb"),
            params:
                name=_experiment,
                runs=run_list(_experiment, NETWORKS),
                checkpoint=run_paths(
                    _experiment, NETWORKS, "pt", "results/networks/checkpoints"
                ),
                experiment=run_settings(NETWORKS["experiments"][_experiment]),
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
            # the seeds' own values, for the log axes (the sigma sweep draws finals only)
            json=curve_runs(_spec, "json"),
            npz=curve_runs(_spec, "npz"),
        output:
            pdf=f"figures/{_figure}.pdf",
            # an experiment beyond the paper without a caption of its own: the generic one
            png=figure_report(_figure, "networks", "experiment_curves"),
            record=figure_record(_figure),
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

    if _spec.number is not None:

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


# App. Figs. 7-10 curve for curve (issue 28): our curves against the paper's digitized ones.
rule curve_comparison:
    input:
        json=[p for e in CURVES for p in run_paths(e, NETWORKS, "json")],
        npz=[p for e in CURVES for p in run_paths(e, NETWORKS, "npz")],
    output:
        comparison="results/networks/curves/comparison.csv",
        claims="results/networks/curves/claims.csv",
    log:
        "logs/networks/curve_comparison.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        experiments=CURVES,
        constants=verdict_constants(),
        # by content: a new reading reruns the comparison, another clone does not
        digitized=lambda wildcards: digitized_text(),
    script:
        "../scripts/networks/curve_comparison.py"


# The width sweep (beyond the paper, docs/width_sweep.md): its runs aggregated per width, the
# onsets, fits and claims W1-W4, and its figure.
rule width_sweep_analysis:
    input:
        finals=[f"results/networks/{e}/finals.csv" for e in SWEPT],
    output:
        **{name: f"results/networks/width_sweep/{name}.csv" for name in SWEEP_TABLES},
    log:
        "logs/networks/width_sweep_analysis.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        constants=verdict_constants(),
        numbers=paper_registry(),
        # the prediction at initialization (config/width_sweep_prediction.json) as slopes
        predicted=lambda wildcards: predicted_slopes(),
        digitized=lambda wildcards: digitized_text(),
    script:
        "../scripts/networks/width_sweep.py"


rule width_sweep_figure:
    input:
        summary=[f"results/networks/{e}/summary.csv" for e in SWEPT],
        drops="results/networks/width_sweep/drops.csv",
        onsets="results/networks/width_sweep/onsets.csv",
        onset_summary="results/networks/width_sweep/onset_summary.csv",
        fits="results/networks/width_sweep/fits.csv",
    output:
        pdf="figures/width_sweep.pdf",
        png=figure_report("width_sweep", "networks"),
        record=figure_record("width_sweep"),
    log:
        "logs/networks/width_sweep_figure.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        constants=verdict_constants(),
        predicted=lambda wildcards: predicted_slopes(),
    script:
        "../scripts/networks/width_sweep_figure.py"


rule width_sweep:
    input:
        [f"results/networks/{e}/finals.csv" for e in SWEPT],
        [f"results/networks/width_sweep/{name}.csv" for name in SWEEP_TABLES],
        figure_files("width_sweep"),
    localrule: True


rule networks:
    input:
        [figure_files(name) for name in FIGURES],
        NETWORK_CLAIM_FILES,
        rules.width_sweep.input if SWEPT else [],
    localrule: True
