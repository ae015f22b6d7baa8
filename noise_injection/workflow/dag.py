"""The workflow's rules and jobs as plain records, read through Snakemake's own parser.

:func:`read_workflow` parses ``Snakefile`` with one config file and builds the DAG of the
default target with every job forced (as ``snakemake -n --forceall`` would), in a temporary
working directory, so nothing in the checkout is read as "already done" and nothing is
written there. Generated documentation (:mod:`noise_injection.workflow.maps`) is derived from
these records, so it describes exactly what the rules declare.

Snakemake exposes rules and jobs only through its workflow object (``WorkflowApi._workflow``
in Snakemake 8-9); this module is the one place that touches it.
"""

from __future__ import annotations

import ast
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    """A rule as declared: name, input and output patterns, script (repository-relative)."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    script: str | None


@dataclass
class Job:
    """One job of the DAG: its rule, files, wildcards, the config entries it receives as
    params (dotted keys) and the jobs it depends on (indices into the job list)."""

    rule: Rule
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    wildcards: dict[str, str]
    param_keys: tuple[str, ...]
    needs: list[int] = field(default_factory=list)


@dataclass
class Workflow:
    """Every rule of the workflow and every job of its default target under one config."""

    root: Path
    configfile: str
    config: dict
    rules: dict[str, Rule]
    jobs: list[Job]

    def producer(self, path: str) -> int | None:
        """Index of the job that writes ``path``, None if no job does."""
        for i, job in enumerate(self.jobs):
            if path in job.outputs:
                return i
        return None

    def upstream(self, index: int) -> list[int]:
        """``index`` and every job it depends on, directly or not, in a stable order."""
        seen, todo = [], [index]
        while todo:
            i = todo.pop(0)
            if i not in seen:
                seen.append(i)
                todo += self.jobs[i].needs
        return seen


def config_paths(config, prefix: str = "") -> dict[int, str]:
    """``id(container) -> dotted key`` for every dict and list of a config tree (scalars are
    left out: small ints and strings are shared objects, so identity would not be a key)."""
    paths = {}
    if isinstance(config, (dict, list)):
        if prefix:
            paths[id(config)] = prefix
        items = config.items() if isinstance(config, dict) else enumerate(config)
        for key, value in items:
            paths.update(config_paths(value, f"{prefix}.{key}" if prefix else str(key)))
    return paths


def script_config_reads(path: Path) -> list[str]:
    """The config keys a rule script reads as ``snakemake.config[...]``, as dotted keys of the
    constant subscripts (``snakemake.config["networks"]["experiments"][name]`` reads
    ``networks.experiments``)."""
    keys = set()
    nodes = list(ast.walk(ast.parse(path.read_text())))
    inner_links = {id(n.value) for n in nodes if isinstance(n, ast.Subscript)}
    for node in nodes:
        if id(node) in inner_links:
            continue  # part of a longer chain: the outermost subscript is read
        chain, inner = [], node
        while isinstance(inner, ast.Subscript):
            chain.append(inner.slice)
            inner = inner.value
        if not (isinstance(inner, ast.Attribute) and inner.attr == "config"
                and isinstance(inner.value, ast.Name) and inner.value.id == "snakemake"):
            continue
        parts = []
        for part in reversed(chain):
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                break
            parts.append(part.value)
        if parts:
            keys.add(".".join(parts))
    return sorted(keys)


def _rule(rule, root: Path) -> Rule:
    def plain(files):
        return tuple(f for f in files if isinstance(f, str))

    script = None
    if rule.script:
        script = os.path.relpath(os.path.normpath(os.path.join(str(rule.basedir), rule.script)),
                                 root)
    return Rule(rule.name, plain(rule.input), plain(rule.output), script)


def read_workflow(root: str | Path, configfile: str) -> Workflow:
    """Parse ``root/Snakefile`` with ``root/configfile`` and build the forced DAG of its
    default target (in a temporary working directory)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (ConfigSettings, DAGSettings, OutputSettings,
                                          Quietness, ResourceSettings)

    root = Path(root).resolve()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as workdir:
        try:
            with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
                workflow_api = api.workflow(
                    ResourceSettings(cores=1),
                    ConfigSettings(configfiles=[root / configfile]),
                    snakefile=root / "Snakefile", workdir=Path(workdir))
                workflow_api.dag(DAGSettings(forceall=True))
                workflow = workflow_api._workflow
                workflow._prepare_dag(forceall=True, ignore_incomplete=True,
                                      lock_warn_only=True)
                workflow._build_dag()
                rules = {r.name: _rule(r, root) for r in workflow.rules}
                keys = config_paths(workflow.config)
                dag_jobs = sorted(workflow.dag.jobs, key=lambda j: (j.rule.name, str(j.output)))
                index = {job: i for i, job in enumerate(dag_jobs)}
                jobs = []
                for job in dag_jobs:
                    params = [keys[id(v)] for v in job.params if id(v) in keys]
                    jobs.append(Job(rules[job.rule.name], tuple(map(str, job.input)),
                                    tuple(map(str, job.output)), dict(job.wildcards.items()),
                                    tuple(sorted(set(params))),
                                    sorted(index[d] for d in workflow.dag.dependencies[job])))
                config = workflow.config
        finally:
            os.chdir(cwd)
    return Workflow(root, configfile, config, rules, jobs)
