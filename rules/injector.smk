# The noise injector measured on a small network: the demo chain and a sanity figure.


rule injector_check:
    output:
        "results/injector/check.json",
    log:
        "logs/injector/check.log",
    conda:
        "../envs/torch.yaml"
    params:
        cfg=config["injector"],
    script:
        "../scripts/injector/check.py"


rule injector_figure:
    input:
        "results/injector/check.json",
    output:
        pdf="figures/injector_check.pdf",
        png=figure_report("injector_check", "injector"),
        record=figure_record("injector_check"),
    log:
        "logs/injector/figure.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/injector/figure.py"


rule injector:
    input:
        figure_files("injector_check"),
    localrule: True
