# Stage 'variance': variance explosion vs width (docs/paper.md section 3, claim C4).
# Fig. 1 heat maps, Fig. 2 linear-net dynamics, loss / gradient variance vs width.
# Sigma is the theory's: all = std sigma on every weight, layer = one of the M layers at
# random with std sqrt(M) sigma. The Fig. 2 runs are the longest jobs: they start first.


rule variance_heatmap:
    output:
        "results/variance/heatmap.json",
    log:
        "logs/variance/heatmap.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        data=config["variance"]["data"],
        heatmap=config["variance"]["heatmap"],
    script:
        "../scripts/variance/heatmap.py"


rule variance_gd_end:
    output:
        "results/variance/gd_end/width{width}.json",
    log:
        "logs/variance/gd_end_width{width}.log",
    wildcard_constraints:
        width=r"\d+",
    priority: 2
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        data=config["variance"]["data"],
        dynamics=config["variance"]["dynamics"],
    script:
        "../scripts/variance/gd_end.py"


rule variance_calibration:
    input:
        expand(
            "results/variance/gd_end/width{width}.json",
            width=config["variance"]["dynamics"]["widths"],
        ),
    output:
        "results/variance/calibration.json",
    log:
        "logs/variance/calibration.log",
    priority: 2
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        data=config["variance"]["data"],
        dynamics=config["variance"]["dynamics"],
    script:
        "../scripts/variance/calibration.py"


rule variance_stall:
    input:
        "results/variance/gd_end/width{width}.json",
    output:
        "results/variance/stall/width{width}.json",
    log:
        "logs/variance/stall_width{width}.log",
    wildcard_constraints:
        width=r"\d+",
    priority: 1
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        data=config["variance"]["data"],
        dynamics=config["variance"]["dynamics"],
        stall=config["variance"]["stall"],
    script:
        "../scripts/variance/stall.py"


rule variance_dynamics:
    input:
        "results/variance/calibration.json",
    output:
        "results/variance/dynamics/width{width}.json",
    log:
        "logs/variance/dynamics_width{width}.log",
    wildcard_constraints:
        width=r"\d+",
    priority: 1
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        data=config["variance"]["data"],
        dynamics=config["variance"]["dynamics"],
    script:
        "../scripts/variance/dynamics.py"


rule variance_width:
    output:
        "results/variance/width/{net}.json",
    log:
        "logs/variance/width_{net}.log",
    wildcard_constraints:
        net="|".join(config["variance"]["width_sweep"]["widths"]),
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        data=config["variance"]["data"],
        width_sweep=config["variance"]["width_sweep"],
    script:
        "../scripts/variance/width.py"


rule variance_fig1:
    input:
        "results/variance/heatmap.json",
    output:
        pdf="figures/fig1_variance_heatmap.pdf",
        png=figure_report("fig1_variance_heatmap", "variance"),
        record=figure_record("fig1_variance_heatmap"),
    log:
        "logs/variance/fig1.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        # the paper's readings marked on the colour bars (and the caption's)
        paper=paper_registry(),
    script:
        "../scripts/variance/fig1.py"


rule variance_fig2:
    input:
        dynamics=expand(
            "results/variance/dynamics/width{width}.json",
            width=config["variance"]["dynamics"]["widths"],
        ),
        calibration="results/variance/calibration.json",
    output:
        pdf="figures/fig2_linear_dynamics.pdf",
        png=figure_report("fig2_linear_dynamics", "variance"),
        record=figure_record("fig2_linear_dynamics"),
    log:
        "logs/variance/fig2.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        paper=paper_registry(),
    script:
        "../scripts/variance/fig2.py"


rule variance_stall_figure:
    input:
        expand(
            "results/variance/stall/width{width}.json",
            width=config["variance"]["stall"]["widths"],
        ),
    output:
        pdf="figures/stall_onset.pdf",
        png=figure_report("stall_onset", "variance"),
        record=figure_record("stall_onset"),
    log:
        "logs/variance/stall_figure.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/variance/stall_figure.py"


rule variance_vs_width_figure:
    input:
        expand(
            "results/variance/width/{net}.json",
            net=config["variance"]["width_sweep"]["widths"],
        ),
    output:
        pdf="figures/variance_vs_width.pdf",
        png=figure_report("variance_vs_width", "variance"),
        record=figure_record("variance_vs_width"),
    log:
        "logs/variance/vs_width.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        width_sweep=config["variance"]["width_sweep"],
    script:
        "../scripts/variance/width_figure.py"


rule variance_claims:
    input:
        heatmap="results/variance/heatmap.json",
        width="results/variance/width/linear1.json",
        dynamics=expand(
            "results/variance/dynamics/width{width}.json",
            width=config["variance"]["dynamics"]["widths"],
        ),
        stall=expand(
            "results/variance/stall/width{width}.json",
            width=config["variance"]["stall"]["widths"],
        ),
    output:
        "results/variance/claims.csv",
    log:
        "logs/variance/claims.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        width_sweep=config["variance"]["width_sweep"],
        scale=config["scale"],
        numbers=paper_registry(),
        constants=verdict_constants(),
    script:
        "../scripts/variance/claims.py"


rule fig1:
    input:
        figure_files("fig1_variance_heatmap"),
    localrule: True


rule fig2:
    input:
        figure_files("fig2_linear_dynamics"),
    localrule: True


rule variance:
    input:
        figure_files("fig1_variance_heatmap"),
        figure_files("fig2_linear_dynamics"),
        figure_files("variance_vs_width"),
        figure_files("stall_onset"),
        "results/variance/claims.csv",
    localrule: True
