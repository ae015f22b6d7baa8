# Review artifacts: the claims table, run timings, the executed review notebook (HTML).

CLAIM_FILES = [
    f"results/{stage}/claims.csv"
    for stage in ("finite", "variance", "networks")
    if stage in STAGES_ON
]


rule claims_table:
    input:
        CLAIM_FILES,
    output:
        csv="results/claims.csv",
        html=report(
            "results/claims.html",
            caption="../report/claims.rst",
            category="4. Claims: paper vs measured",
        ),
    log:
        "logs/review/claims.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/review/claims.py"


rule run_timings:
    input:
        [getattr(rules, stage).input for stage in STAGES_ON if stage != "review"],
    output:
        report(
            "results/review/timings.csv",
            caption="../report/timings.rst",
            category="4. Claims: paper vs measured",
        ),
    log:
        "logs/review/timings.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/review/timings.py"


rule review_notebook:
    input:
        claims="results/claims.csv",
        timings="results/review/timings.csv",
        figures=[f for f in rules.run_timings.input if f.endswith(".png")],
    output:
        "results/review/summary.md",
    log:
        notebook="results/review/review.ipynb",
    localrule: True
    conda:
        "../envs/notebook.yaml"
    notebook:
        "../notebooks/review.ipynb"


rule review_html:
    input:
        "results/review/review.ipynb",
    output:
        report(
            "results/review/review.html",
            caption="../report/review_notebook.rst",
            category="4. Claims: paper vs measured",
        ),
    log:
        "logs/review/review_html.log",
    localrule: True
    conda:
        "../envs/notebook.yaml"
    shell:
        "jupyter nbconvert --to html --no-input --output-dir results/review "
        "--output review.html {input} > {log} 2>&1"


rule deviations_page:
    output:
        report(
            "results/review/deviations.html",
            caption="../report/deviations.rst",
            category="0. Choices and deviations",
        ),
    log:
        "logs/review/deviations.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        # by content (config/deviations.yaml): an edit reruns the page, another clone does not
        deviations=deviations_list(),
    script:
        "../scripts/review/deviations.py"


rule verdict_rules_page:
    output:
        report(
            "results/review/verdict_rules.html",
            caption="../report/verdict_rules.rst",
            category="4. Claims: paper vs measured",
        ),
    log:
        "logs/review/verdict_rules.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        # by content (config/verdicts.yaml): an edit reruns the page, another clone does not
        constants=verdict_constants(),
    script:
        "../scripts/review/verdict_rules.py"


rule review:
    input:
        "results/claims.csv",
        "results/review/deviations.html",
        "results/review/verdict_rules.html",
        "results/claims.html",
        "results/review/timings.csv",
        "results/review/review.html",
    localrule: True
