# Helper functions shared by the rules (no rules here).


def figure_files(name):
    """The two files of a figure: the PDF for papers and the PNG for the README and report."""
    return [f"figures/{name}.pdf", f"figures/{name}.png"]


def figure_report(name, category, subcategory=None):
    """A figure's PNG registered for the Snakemake report, with caption report/<name>.rst and
    labels giving the number and wall time of the runs it was drawn from."""
    return report(
        f"figures/{name}.png",
        caption=f"../report/{name}.rst",
        category=category,
        subcategory=subcategory,
        labels=figure_labels(name),
    )


def figure_labels(name):
    """Report labels, evaluated when the report is made (never a rerun trigger)."""

    def labels(wildcards, input):
        from noise_injection.workflow.timings import wall_time_behind

        runs, seconds = wall_time_behind(input)
        return {
            "figure": name,
            "runs": runs,
            "wall time of the runs (s)": round(seconds, 1),
        }

    return labels


def paper_registry():
    """The registry of the paper's numbers (config/paper_numbers.yaml), by content: a param of
    the claims rules (a changed number reruns them; a path would rerun them in every other
    clone) and the report captions' snakemake.params.paper."""
    from noise_injection.claims.paper_numbers import registry

    return registry()


def verdict_constants():
    """The constants that decide verdicts (config/verdicts.yaml), by content: a param of the
    claims rules, as :func:`paper_registry`."""
    from noise_injection.claims.constants import constants

    return constants()


def seeds(section):
    """The seeds of a config section: 0 .. n_seeds - 1."""
    return list(range(config[section]["n_seeds"]))


def deviations_list():
    """The deviations list (config/deviations.yaml), checked, by content."""
    from noise_injection.workflow.deviations import load_deviations

    return load_deviations()
