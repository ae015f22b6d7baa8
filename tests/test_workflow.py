"""The workflow end to end: lint and format, bad configs stop before any job, and the whole
DAG at the smoke scale in a temporary directory (figures, results with provenance, report)."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from noise_injection.networks.experiments import runs
from noise_injection.workflow.config import validate_config

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SMOKE = str(ROOT / "config" / "smoke.yaml")


def snakemake(*args, cwd=ROOT, check=True):
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_lint_is_clean():
    out = snakemake("--lint")
    assert "Congratulations" in out.stdout + out.stderr


def test_snakefmt_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "."], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bad_config_fails_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(SMOKE).read_text().replace("scale: smoke", "scale: smoke\nwidht: 3"))
    proc = snakemake("--cores", "1", "--snakefile", str(ROOT / "Snakefile"), "--directory",
                     str(tmp_path), "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "widht" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "figures").exists()


def training_jobs(scale: str) -> int:
    """Number of train_network jobs of a scale: runs per experiment times its seeds (its own
    n_seeds, else networks.n_seeds), the width sweep's experiments included."""
    networks = validate_config(yaml.safe_load((ROOT / "config" / f"{scale}.yaml").read_text()),
                               ROOT / "config" / "schema.yaml")["networks"]
    return sum(len(runs(e)) * (e["n_seeds"] or networks["n_seeds"])
               for e in networks["experiments"].values())


def test_configfile_replaces_the_default_scale(tmp_path):
    """A dry run with the smoke file plans the smoke scale's training jobs, not the default's."""
    assert training_jobs("smoke") != training_jobs("config")
    proc = snakemake("-n", "--configfile", SMOKE, "--snakefile", str(ROOT / "Snakefile"),
                     "--directory", str(tmp_path))
    planned = re.search(r"^train_network\s+(\d+)\s*$", proc.stdout + proc.stderr, re.M)
    assert planned and int(planned.group(1)) == training_jobs("smoke")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The whole DAG at the smoke scale, in a fresh working directory."""
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake("--cores", "2", "--snakefile", str(ROOT / "Snakefile"), "--directory",
              str(workdir), "--configfile", SMOKE)
    return workdir


@pytest.mark.slow
def test_smoke_dag_builds_every_target(smoke_run):
    proc = snakemake("-n", "--snakefile", str(ROOT / "Snakefile"), "--directory",
                     str(smoke_run), "--configfile", SMOKE)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    figures = sorted(p.name for p in (smoke_run / "figures").iterdir())
    assert "injector_check.pdf" in figures and "injector_check.png" in figures
    assert all(p.stat().st_size > 0 for p in (smoke_run / "figures").iterdir())


@pytest.mark.slow
def test_smoke_results_carry_provenance(smoke_run):
    records = list((smoke_run / "results").rglob("*.json"))
    assert records
    for path in records:
        record = json.loads(path.read_text())
        if "provenance" not in record:  # summaries and tables are not run records
            continue
        assert record["status"] in ("ok", "diverged"), path
        assert record["wall_time_s"] >= 0
        assert record["provenance"]["versions"]["torch"]
        assert "seed" in record and "config" in record


@pytest.mark.slow
def test_every_figure_has_a_record_of_what_drew_it(smoke_run):
    """Beside each figure its run record: the SHA-256 of the PDF and PNG it wrote and of every
    input it read (recomputed here from the files), its drawing's CPU time, its provenance."""
    digest = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: E731
    pdfs = sorted((smoke_run / "figures").glob("*.pdf"))
    assert len(pdfs) == 20
    for pdf in pdfs:
        record = json.loads(pdf.with_suffix(".json").read_text())
        assert record["figures"] == {f"figures/{p.name}": digest(p)
                                     for p in (pdf, pdf.with_suffix(".png"))}, pdf.name
        assert record["inputs"] and record["inputs"] == {
            name: digest(smoke_run / name) for name in record["inputs"]}, pdf.name
        assert record["status"] == "ok" and record["seed"] is None
        assert 0 < record["cpu_time_s"] and record["config"]["rule"]
        assert record["provenance"]["versions"]["matplotlib"]


@pytest.mark.slow
def test_injector_check_is_exact(smoke_run):
    record = json.loads((smoke_run / "results" / "injector" / "check.json").read_text())
    for label, stats in record["schemes"].items():
        assert stats["max_restore_error"] == 0.0, label
    assert set(record["schemes"]["layer-cyclic"]["counts"]) == {record["config"]["steps"] // 6}


@pytest.mark.slow
def test_smoke_report_and_review_notebook(smoke_run):
    snakemake("--report", str(smoke_run / "report.zip"), "--snakefile",
              str(ROOT / "Snakefile"), "--directory", str(smoke_run), "--configfile", SMOKE)
    import zipfile

    with zipfile.ZipFile(smoke_run / "report.zip") as archive:
        names = archive.namelist()
    figures = {p.name for p in (smoke_run / "figures").glob("*.png")}
    assert len(figures) == 20  # the paper's 12, 7 beyond them, the width sweep's
    for name in figures | {"claims.html", "review.html", "timings.csv", "deviations.html",
                           "verdict_rules.html"}:
        assert any(n.endswith(name) for n in names), name
    executed = json.loads((smoke_run / "results" / "review" / "review.ipynb").read_text())
    outputs = [c for c in executed["cells"] if c["cell_type"] == "code" and c["outputs"]]
    assert outputs and not any(o.get("output_type") == "error" for c in outputs for o in c["outputs"])
    claims = (smoke_run / "results" / "claims.csv").read_text()
    for claim in ("C1", "C2", "C3", "C4", "C5", "C6"):
        assert claim in claims


@pytest.mark.slow
def test_shipping_rederives_tables_and_figures_without_training(smoke_run, tmp_path,
                                                               monkeypatch):
    """shipped.ship on a finished run: the records copied byte for byte, every table, claims
    table and figure redone by the workflow's own rules (no run record under results/, each
    figure with the record of its drawing), the earlier content of the destination replaced
    except the variant's folder, and the shipped tables what the library rebuilds from the
    shipped records."""
    from noise_injection.workflow import shipped

    (smoke_run / "config").mkdir(exist_ok=True)
    shutil.copy2(SMOKE, smoke_run / "config" / "smoke.yaml")
    monkeypatch.setattr(shipped, "clean", lambda revision, what: revision)  # any checkout
    dest = tmp_path / "shipped"
    (dest / shipped.VARIANT).mkdir(parents=True)
    (dest / shipped.VARIANT / "kept.txt").write_text("the variant")
    (dest / "stale.txt").write_text("the run shipped before")
    prov = shipped.ship(smoke_run, dest, config="config/smoke.yaml", cores=1)
    records = [p.relative_to(smoke_run) for p in (smoke_run / "results").rglob("*_seed*.json")]
    assert records and all((dest / r).read_bytes() == (smoke_run / r).read_bytes()
                           for r in records)
    assert (dest / shipped.VARIANT / "kept.txt").read_text() == "the variant"
    assert not (dest / "stale.txt").exists()
    assert {"results/networks/width_sweep/claims.csv", "figures/width_sweep.png",
            "results/networks/claims.csv", "results/claims.csv"} <= set(prov["derived"])
    # every other stage's figure is redrawn in this checkout's style from the shipped results
    assert {f"figures/{figure}.png" for figure, _ in shipped.STAGE_FIGURES.values()} <= set(
        prov["derived"])
    assert (dest / "data" / "finite" / "nuclear.npz").is_file()  # what two of them read
    # no run record under results/ is redone; each redrawn figure comes with its own record
    assert not [p for p in prov["derived"]
                if p.startswith("results/") and p.endswith((".json", ".npz"))]
    assert {f"figures/{figure}.json" for figure, _ in shipped.STAGE_FIGURES.values()} <= set(
        prov["derived"])
    tables = shipped.rebuild_tables(dest, "config/smoke.yaml")
    assert [m for rel, t in tables.items() for m in shipped.table_mismatches(t, dest / rel)] == []


@pytest.mark.slow
def test_report_categories_follow_the_stages_and_the_page_renders(smoke_run):
    """One category per stage with a distinct number, in the stages' order (the report sorts
    them by name), and headless Chromium renders the main page (skipped without chromium)."""
    from noise_injection.workflow.screenshot import chromium, screenshot

    report = smoke_run / "report.html"
    snakemake("--report", str(report), "--snakefile", str(ROOT / "Snakefile"), "--directory",
              str(smoke_run), "--configfile", SMOKE)
    text = report.read_text()
    categories = re.findall(r'^    "\w+": "([0-9]+\. [^"]+)",$',
                            (ROOT / "rules" / "common.smk").read_text(), flags=re.M)
    numbers = [c.split(".")[0] for c in categories]
    assert numbers == [str(i) for i in range(len(numbers))] and len(numbers) == 6
    assert all(json.dumps(c)[1:-1] in text for c in categories)
    numbers = re.findall(r'"figure": "Fig\. ([0-9]+) ', text)  # sorted as text by the report
    assert len(set(numbers)) == 12 and sorted(numbers) == sorted(numbers, key=int)
    if chromium() is None:
        pytest.skip("no chromium on the PATH")
    png = screenshot(report, smoke_run / "report.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.slow
def test_claims_page_shows_every_claim_on_the_first_screen(smoke_run):
    """results/claims.html (also the report's claims page) of the whole DAG, in Chromium at
    1,400 px: a screenshot (results/claims.png, to look at), every claim's summary line above
    the fold and the page at most a third of the 22,847 px of the table it replaced."""
    from noise_injection.workflow.screenshot import WINDOW, chromium, layout, screenshot

    if chromium() is None:
        pytest.skip("no chromium on the PATH")
    page = smoke_run / "results" / "claims.html"
    claims = re.findall(r"href='#(claim-\w+)'", page.read_text())
    assert len(claims) == len(set(claims)) >= 15
    measured = layout(page, ["summary", *claims])
    assert measured["bottoms"]["summary"] <= WINDOW[1]
    assert all(measured["bottoms"][c] for c in claims)  # every claim has its section
    assert measured["height"] <= 22_847 / 3
    png = screenshot(page, smoke_run / "results" / "claims.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def checkout_copy(tmp_path):
    """The workflow's sources (no results, environments or git data) copied to ``tmp_path``,
    so that a test may touch and edit them."""
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".git", ".venv", "results", "figures", "logs", ".snakemake", "data", "gallery",
        "results-cpu", "__pycache__", "*.egg-info", ".pytest_cache"))
    return copy


def dry_run_jobs(copy, workdir, configfile):
    """{rule: jobs} that ``snakemake -n`` would run with the copy's Snakefile, library and
    profile in ``workdir``."""
    proc = subprocess.run(
        [*SNAKEMAKE, "-n", "--snakefile", str(copy / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(configfile)], capture_output=True, text=True, cwd=copy.parent,
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(copy)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    if "Nothing to be done" in out:
        return {}
    stats = out.split("Job stats:")[1].split("total")[0]
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)$", stats, flags=re.M)}


def rules_of(stage_file):
    return set(re.findall(r"^rule (\w+):", stage_file.read_text(), flags=re.M))


@pytest.mark.slow
def test_reruns_follow_code_content_not_timestamps(smoke_run, tmp_path):
    from noise_injection.workflow.code import code_files

    copy = checkout_copy(tmp_path)
    config = copy / "config" / "smoke.yaml"
    assert dry_run_jobs(copy, smoke_run, config) == {}
    for path in copy.rglob("*"):  # a checkout that changes no content
        os.utime(path)
    assert dry_run_jobs(copy, smoke_run, config) == {}
    module = copy / "noise_injection" / "variance" / "fits.py"
    module.write_text(module.read_text() + "\n# a comment changes no result\n")
    assert dry_run_jobs(copy, smoke_run, config) == {}
    module.write_text(module.read_text() + "\nEDITED = True\n")
    jobs = dry_run_jobs(copy, smoke_run, config)
    scripted = {}
    for stage_file in (copy / "rules").glob("*.smk"):
        for name, script in re.findall(r'^rule (\w+):\n(?:    .*\n|\n)*?    script:\n\s+"\.\./(\S+)"',
                                       stage_file.read_text(), flags=re.M):
            scripted[name] = script
    uses_it = {name for name, script in scripted.items()
               if "noise_injection/variance/fits.py" in code_files(copy, script)}
    assert uses_it and uses_it <= set(jobs)
    downstream = rules_of(copy / "rules" / "variance.smk") | rules_of(copy / "rules" / "review.smk")
    assert set(jobs) <= downstream | {"all"}, set(jobs) - downstream


@pytest.mark.slow
def test_changing_bf16_reruns_the_training_jobs(smoke_run, tmp_path):
    copy = checkout_copy(tmp_path)
    config = copy / "config" / "smoke.yaml"
    text = config.read_text()
    assert "\nnetworks:\n" in text and "bf16" not in text  # the default, false (fp32)
    config.write_text(text.replace("\nnetworks:\n", "\nnetworks:\n  bf16: true\n"))
    jobs = dry_run_jobs(copy, smoke_run, config)
    runs = len(list((smoke_run / "results" / "networks").glob("*/*_seed*.json")))
    assert jobs.get("train_network") == runs
    assert not any(rule.startswith(("finite", "variance", "injector")) for rule in jobs)


@pytest.mark.slow
def test_a_curves_table_without_gd_stops_the_figure(smoke_run):
    curves = smoke_run / "results" / "networks" / "mlp3_narrow" / "curves.csv"
    saved = curves.read_text()
    assert saved.startswith("scheme,")
    curves.write_text("".join(line for line in saved.splitlines(keepends=True)
                              if not line.startswith("none,")))
    args = ("--cores", "1", "--snakefile", str(ROOT / "Snakefile"), "--directory",
            str(smoke_run), "--configfile", SMOKE, "--forcerun", "network_figure_fig7_mlp3_narrow",
            "fig7")
    try:
        proc = snakemake(*args, check=False)
    finally:
        curves.write_text(saved)
        snakemake(*args)  # the figure as it was
    assert proc.returncode != 0
    assert f"{curves.relative_to(smoke_run)}: no rows for scheme=none" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_smoke_claims_table_has_the_review_columns(smoke_run):
    import pandas as pd

    from noise_injection.claims.table import CLAIM_COLUMNS
    from noise_injection.claims.verdicts import VERDICTS

    table = pd.read_csv(smoke_run / "results" / "claims.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == list(CLAIM_COLUMNS)
    assert set(table["verdict"]) <= set(VERDICTS)
    lines = table[table["level"] == "claim"]
    assert sorted(lines["claim"]) == sorted(
        ["C1", "C2", "C3", "C4", "C5a", "C5b", "C5c", "C5d", "C5e", "C5f", "C6a", "C6b", "C6c",
         "C6d", "W1", "W2", "W3", "W4"])  # W: the smoke scale's width sweep
    network = table[table["claim"].str.match(r"C[56]") & (table["level"] == "comparison")]
    unresolved = network["verdict"].isin(["not run at this scale", "not applicable at this scale"])
    assert ((network["n_ok"] != "") & (network["test"] != "")).sum() + unresolved.sum() \
        == len(network)
    assert (table[table["row"].str.contains("slope")]["beyond_paper"] == "beyond the paper").all()


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["mlp3_wide", "resnet18"])
def test_review_notebook_opens_outside_snakemake(smoke_run, experiment, monkeypatch):
    """Plain Jupyter after a run: no snakemake object, the checkout's results/ (here the
    smoke run's working directory), any experiment's curves with its claim rows."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "notebooks" / "review.ipynb", as_version=4)
    setup = notebook.cells[1]
    assert 'EXPERIMENT = "mlp3_wide"' in setup.source
    setup.source = setup.source.replace('"mlp3_wide"', f'"{experiment}"')
    summary = smoke_run / "results" / "review" / "summary.md"
    before = summary.stat().st_mtime_ns
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(smoke_run)}}).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    shown = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert f"{experiment} s=" in shown  # its claim rows
    assert "read off the figure" in shown  # the registry of the paper's numbers
    assert summary.stat().st_mtime_ns == before  # only the workflow writes its outputs


@pytest.mark.slow
def test_variance_records_carry_the_keys_their_consumers_check(smoke_run):
    """The declared keys (noise_injection.variance.records) are what the producers write: a
    consumer's check can then only fail on a damaged or foreign file."""
    from noise_injection.variance import records
    from noise_injection.base.inputs import read_json

    variance = smoke_run / "results" / "variance"
    expected = {"heatmap.json": records.HEATMAP, "width/*.json": records.WIDTH,
                "gd_end/*.json": records.GD_END, "calibration.json": records.CALIBRATION,
                "dynamics/*.json": records.DYNAMICS, "stall/*.json": records.STALL}
    for pattern, keys in expected.items():
        paths = sorted(variance.glob(pattern))
        assert paths, pattern
        for path in paths:
            read_json(path, "variance", keys)


@pytest.mark.slow
def test_finite_files_carry_the_arrays_their_consumers_check(smoke_run):
    from noise_injection.finite import records
    from noise_injection.base.inputs import read_npz

    for model, keys in records.DATA.items():
        read_npz(smoke_run / "data" / "finite" / f"{model}.npz", "finite_data", keys)
        read_npz(smoke_run / "results" / "finite" / f"{model}_pgd.npz", "finite_pgd",
                 records.PGD)
        read_npz(smoke_run / "results" / "finite" / f"{model}_reference.npz", "finite_reference",
                 records.REFERENCE)
