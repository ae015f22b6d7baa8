# Helper functions shared by the rules (no rules here).
import re


def figure_files(name):
    """The two files of a figure: the PDF for papers and the PNG for the README and report."""
    return [f"figures/{name}.pdf", f"figures/{name}.png"]


def figure_record(name):
    """A figure's run record (noise_injection.base.results.write_figure_record): its rule,
    params, drawing CPU time, and the SHA-256 of its inputs and files."""
    return f"figures/{name}.json"


# The report's categories, one per stage in the order of the DAG (the report sorts them by
# name, so the numbers order them); figures and the other items are separate subcategories.
REPORT_CATEGORIES = {
    "paper": "0. The paper and this reproduction's choices",
    "injector": "1. Noise injector",
    "finite": "2. Finite-dimensional models (paper Sec. 2)",
    "variance": "3. Variance explosion (paper Sec. 3, Figs. 1-2)",
    "networks": "4. Networks (paper Sec. 4, Figs. 3-12)",
    "review": "5. Claims: paper vs measured",
}
FIGURES_SUBCATEGORY = "Figures (paper figures by number first)"
PAGES_SUBCATEGORY = "Tables and pages"


def figure_report(name, stage, caption=None):
    """A figure's PNG registered for the Snakemake report in its stage's category, with
    caption report/<name>.rst (where it has none: report/<caption>.rst, one caption for
    every figure of its kind) and labels giving the number and wall time of the runs behind
    its inputs."""
    own = os.path.exists(os.path.join(workflow.basedir, "report", f"{name}.rst"))
    return report(
        f"figures/{name}.png",
        caption=f"../report/{name if own or caption is None else caption}.rst",
        category=REPORT_CATEGORIES[stage],
        subcategory=FIGURES_SUBCATEGORY,
        labels=figure_labels(name),
    )


def page_report(path, caption, stage):
    """A table or page registered for the Snakemake report in its stage's category."""
    return report(
        path,
        caption=f"../report/{caption}.rst",
        category=REPORT_CATEGORIES[stage],
        subcategory=PAGES_SUBCATEGORY,
    )


def figure_labels(name):
    """Report labels, evaluated when the report is made (never a rerun trigger). The report
    sorts a subcategory's entries by the first label as text, so a paper figure's number is
    written with two digits (Fig. 03 before Fig. 10)."""

    def labels(wildcards, input):
        from noise_injection.workflow.timings import wall_time_behind

        runs, seconds = wall_time_behind(input)
        number = re.match(r"fig(\d+)_", name)
        return {
            "figure": f"Fig. {int(number.group(1)):02d} ({name})" if number else name,
            "runs": runs,
            "wall time of the runs (s)": round(seconds, 1),
        }

    return labels


def paper_registry():
    """The registry of the paper's numbers (config/paper_numbers.yaml), by content: a param of
    the claims rules (a changed number reruns them; a path would rerun them in every other
    clone) and the report captions' snakemake.params.paper."""
    from noise_injection.base.paper_numbers import registry

    return registry()


def verdict_constants():
    """The constants that decide verdicts (config/verdicts.yaml), by content: a param of the
    claims rules, as :func:`paper_registry`."""
    from noise_injection.base.constants import constants

    return constants()


def digitized_text():
    """The paper's digitized curves (config/paper_digitized/*.csv), by content: a param of the
    rules that compare with them (a path would rerun them in every other clone)."""
    from pathlib import Path

    folder = Path(workflow.basedir) / "config" / "paper_digitized"
    return {path.name: path.read_text() for path in sorted(folder.glob("*.csv"))}


def predicted_slopes():
    """The width sweep's predicted slopes (config/width_sweep_prediction.json), by content."""
    from noise_injection.networks.sweep import predicted_slopes as slopes

    return slopes()


def paper_readings():
    """What the network claims read of the paper besides the registry, by content: the
    digitized curves (config/paper_digitized/) and the paper's protocols (config/paper.yaml's
    data sets and widths); a param of network_claims, as :func:`paper_registry`."""
    from noise_injection.claims.networks import paper_inputs

    return paper_inputs()


def verdict_rates():
    """The rates the calibration suite measures (report/verdict_calibration.csv), by content:
    a param of the verdict rules page."""
    import csv

    with open(
        os.path.join(workflow.basedir, "report", "verdict_calibration.csv")
    ) as fh:
        return list(csv.DictReader(fh))


def travel_fragile():
    """The travel measurement's fragile verdicts for this scale (config/travel.yaml, by
    content: a param of the claims table): its variants, revision and the rows whose verdict
    word changed on an imitated machine; {} where it measured another scale or none."""
    from noise_injection.workflow.tolerances import travel

    measured = travel()
    if measured.get("scale") != config["scale"]:
        return {}
    return {key: measured[key] for key in ("revision", "variants", "fragile")}


def paper_text():
    """docs/paper.md, by content: a param of the paper page (a path would rerun it in every
    other clone; an input is not found from another working directory)."""
    with open(os.path.join(workflow.basedir, "docs", "paper.md")) as fh:
        return fh.read()


def seeds(section):
    """The seeds of a config section: 0 .. n_seeds - 1."""
    return list(range(config[section]["n_seeds"]))


def deviations_list():
    """The deviations list (config/deviations.yaml), checked, by content."""
    from noise_injection.workflow.deviations import load_deviations

    return load_deviations()


def experiment_resource(name, key):
    """A training job's resource ``key`` from experiment ``name``'s config."""
    return NETWORKS["experiments"][name]["resources"][key]


def curve_runs(spec, suffix):
    """The run files of a curves figure's experiments; none for the sigma sweep."""
    if spec.kind == "sigma_sweep":
        return []
    return [p for e in spec.experiments for p in run_paths(e, NETWORKS, suffix)]
