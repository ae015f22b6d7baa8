# Helper functions shared by the rules (no rules here).


def figure_files(name):
    """The two files of a figure: the PDF for papers and the PNG for the README and report."""
    return [f"figures/{name}.pdf", f"figures/{name}.png"]


def figure_report(name, category, subcategory=None):
    """A figure's PNG registered for the Snakemake report, with caption report/<name>.rst."""
    return report(
        f"figures/{name}.png",
        caption=f"../report/{name}.rst",
        category=category,
        subcategory=subcategory,
    )


def seeds(section):
    """The seeds of a config section: 0 .. n_seeds - 1."""
    return list(range(config[section]["n_seeds"]))
