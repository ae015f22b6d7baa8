# Finite-dimensional models (docs/paper.md section 2): PGD lands on the convex solution.
# One batched job per model (all sigmas and seeds in one tensor computation): a job per
# (model, sigma, seed) would spend more time starting Python than computing.

FINITE_MODELS = ["lasso", "group_lasso", "nuclear"]
FINITE_FIGURES = [
    "lasso_path",
    "group_lasso_path",
    "nuclear_norm",
    "smoothing_exactness",
]


rule finite_data:
    output:
        "data/finite/{model}.npz",
    log:
        "logs/finite/data_{model}.log",
    wildcard_constraints:
        model="|".join(FINITE_MODELS),
    conda:
        "../envs/analysis.yaml"
    params:
        cfg=config["finite"],
    script:
        "../scripts/finite/data.py"


rule finite_pgd:
    input:
        "data/finite/{model}.npz",
    output:
        npz="results/finite/{model}_pgd.npz",
        json="results/finite/{model}_pgd.json",
    log:
        "logs/finite/pgd_{model}.log",
    wildcard_constraints:
        model="|".join(FINITE_MODELS),
    conda:
        "../envs/analysis.yaml"
    params:
        cfg=config["finite"],
    script:
        "../scripts/finite/pgd.py"


rule finite_reference:
    input:
        "data/finite/{model}.npz",
    output:
        npz="results/finite/{model}_reference.npz",
        json="results/finite/{model}_reference.json",
    log:
        "logs/finite/reference_{model}.log",
    wildcard_constraints:
        model="|".join(FINITE_MODELS),
    conda:
        "../envs/analysis.yaml"
    params:
        cfg=config["finite"],
    script:
        "../scripts/finite/reference.py"


rule finite_summary:
    input:
        **{
            f"{model}_{kind}": path.format(model=model)
            for model in FINITE_MODELS
            for kind, path in (
                ("data", "data/finite/{model}.npz"),
                ("pgd", "results/finite/{model}_pgd.npz"),
                ("reference", "results/finite/{model}_reference.npz"),
            )
        },
    output:
        "results/finite/summary.csv",
    log:
        "logs/finite/summary.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        cfg=config["finite"],
        models=FINITE_MODELS,
    script:
        "../scripts/finite/summary.py"


rule finite_smoothing:
    input:
        **{model: f"data/finite/{model}.npz" for model in FINITE_MODELS},
    output:
        csv="results/finite/smoothing.csv",
        json="results/finite/smoothing.json",
    log:
        "logs/finite/smoothing.log",
    conda:
        "../envs/analysis.yaml"
    params:
        cfg=config["finite"],
    script:
        "../scripts/finite/smoothing.py"


rule finite_figure_lasso:
    input:
        pgd="results/finite/lasso_pgd.npz",
        reference="results/finite/lasso_reference.npz",
    output:
        pdf="figures/lasso_path.pdf",
        png=figure_report("lasso_path", "finite"),
        record=figure_record("lasso_path"),
    log:
        "logs/finite/figure_lasso_path.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/finite/figure_lasso.py"


rule finite_figure_group:
    input:
        data="data/finite/group_lasso.npz",
        pgd="results/finite/group_lasso_pgd.npz",
        reference="results/finite/group_lasso_reference.npz",
    output:
        pdf="figures/group_lasso_path.pdf",
        png=figure_report("group_lasso_path", "finite"),
        record=figure_record("group_lasso_path"),
    log:
        "logs/finite/figure_group_lasso_path.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/finite/figure_group.py"


rule finite_figure_nuclear:
    input:
        data="data/finite/nuclear.npz",
        pgd="results/finite/nuclear_pgd.npz",
        reference="results/finite/nuclear_reference.npz",
    output:
        pdf="figures/nuclear_norm.pdf",
        png=figure_report("nuclear_norm", "finite"),
        record=figure_record("nuclear_norm"),
    log:
        "logs/finite/figure_nuclear_norm.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        cfg=config["finite"],
    script:
        "../scripts/finite/figure_nuclear.py"


rule finite_figure_smoothing:
    input:
        "results/finite/smoothing.csv",
    output:
        pdf="figures/smoothing_exactness.pdf",
        png=figure_report("smoothing_exactness", "finite"),
        record=figure_record("smoothing_exactness"),
    log:
        "logs/finite/figure_smoothing_exactness.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/finite/figure_smoothing.py"


rule finite_claims:
    input:
        "results/finite/summary.csv",
    output:
        "results/finite/claims.csv",
    log:
        "logs/finite/claims.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        cfg=config["finite"],
        numbers=paper_registry(),
        constants=verdict_constants(),
    script:
        "../scripts/finite/claims.py"


rule finite:
    input:
        [figure_files(name) for name in FINITE_FIGURES],
        "results/finite/claims.csv",
    localrule: True
