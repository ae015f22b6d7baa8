# Review artifacts: the claims table, run timings, the executed review notebook (HTML).

CLAIM_FILES = [
    f"results/{stage}/claims.csv"
    for stage in ("finite", "variance")
    if stage in STAGES_ON
] + (NETWORK_CLAIM_FILES if "networks" in STAGES_ON else [])


rule claims_table:
    input:
        CLAIM_FILES,
    output:
        csv="results/claims.csv",
        html=page_report("results/claims.html", "claims", "review"),
    log:
        "logs/review/claims.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        # by content (config/travel.yaml): the rows whose verdict word is fragile at this scale
        travel=travel_fragile(),
    script:
        "../scripts/review/claims.py"


rule run_timings:
    input:
        [getattr(rules, stage).input for stage in STAGES_ON if stage != "review"],
    output:
        page_report("results/review/timings.csv", "timings", "review"),
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
        page_report("results/review/review.html", "review_notebook", "review"),
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
        page_report("results/review/deviations.html", "deviations", "paper"),
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
        page_report("results/review/verdict_rules.html", "verdict_rules", "review"),
    log:
        "logs/review/verdict_rules.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        # by content (config/verdicts.yaml, report/verdict_calibration.csv): an edit reruns
        # the page, another clone does not
        constants=verdict_constants(),
        rates=verdict_rates(),
    script:
        "../scripts/review/verdict_rules.py"


rule paper_page:
    output:
        page_report("results/review/paper.html", "paper", "paper"),
    log:
        "logs/review/paper_page.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        # by content (docs/paper.md): an edit reruns the page, another clone does not
        text=lambda wildcards: paper_text(),
    script:
        "../scripts/review/paper_page.py"


rule review:
    input:
        "results/review/paper.html",
        "results/claims.csv",
        "results/review/deviations.html",
        "results/review/verdict_rules.html",
        "results/claims.html",
        "results/review/timings.csv",
        "results/review/review.html",
    localrule: True
