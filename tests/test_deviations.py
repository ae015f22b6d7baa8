"""The deviations list (config/deviations.yaml): the README section and the report page are
generated from it, its checklist of the authors' protocol covers every item of every
experiment, and config/paper.yaml and our code differ from that checklist only in keys that an
entry declares."""

import copy
from pathlib import Path

import pytest
import yaml

from noise_injection.workflow import codefacts
from noise_injection.workflow.config import validate_config
from noise_injection.workflow.deviations import (
    SCALE_CONFIGS,
    declares,
    generated_files,
    load_deviations,
    lookup,
    missing_items,
    undeclared_differences,
)

ROOT = Path(__file__).resolve().parents[1]


def _config(name: str) -> dict:
    return validate_config(yaml.safe_load((ROOT / "config" / name).read_text()),
                           ROOT / "config" / "schema.yaml")


@pytest.fixture(scope="module")
def paper():
    """The paper scale with our code's facts under ``code`` (the checklist's ``code.`` keys)."""
    config = _config("paper.yaml")
    return {**config, "code": codefacts.code_facts(config)}


def test_readme_section_and_report_page_are_up_to_date():
    for path, text in generated_files(ROOT).items():
        assert path.read_text() == text, (
            f"{path.relative_to(ROOT)} is stale: python -m noise_injection.workflow.deviations --write")


def test_the_checklist_covers_every_item_of_every_experiment_and_figs_1_2():
    data = load_deviations()
    assert missing_items(data) == []
    data["authors"] = [c for c in data["authors"] if c["item"] != "hessian.when"]
    assert "resnet18: hessian.when" in missing_items(data)


def test_paper_scale_differs_from_the_authors_only_in_declared_keys(paper):
    assert undeclared_differences(paper, load_deviations()) == []


@pytest.mark.parametrize("entry", [e["id"] for e in load_deviations()["deviations"]
                                   if e["scale"] in ("paper", "all")])
def test_each_declaration_is_needed(paper, entry):
    """Without the entry, the check names a key the entry declares."""
    data = load_deviations()
    removed = next(e for e in data["deviations"] if e["id"] == entry)
    data["deviations"].remove(removed)
    found = [d.split(" =")[0] for d in undeclared_differences(paper, data)]
    assert found, f"{entry}: nothing undeclared without it"
    assert all(any(declares(k, key) for k in removed["keys"]) for key in found), found


def test_an_undeclared_change_of_the_paper_scale_is_caught(paper):
    data = load_deviations()
    changed = copy.deepcopy(paper)
    changed["networks"]["bf16"] = True
    changed["networks"]["experiments"]["mlp5_wide"]["normalization"] = "train_statistics"
    changed["code"]["networks"]["experiments"]["fcnn"]["init"] = "custom"
    assert sorted(d.split(" =")[0] for d in undeclared_differences(changed, data)) == [
        "code.networks.experiments.fcnn.init", "networks.bf16",
        "networks.experiments.mlp5_wide.normalization"]
    # declared keys may differ: the CIFAR CNNs' augmentation is off by a declared choice
    assert paper["networks"]["experiments"]["toy_cnn"]["augment_padding"] == 0


def test_a_summed_hutchinson_estimate_would_be_seen(monkeypatch):
    """The aggregation fact is measured: a trace that sums its probes reads as "sum"."""
    assert codefacts.hutchinson() == {"probes": "rademacher", "aggregation": "mean"}
    trace = codefacts.hessian.hutchinson_trace

    def summed(model, loss_fn, x, y, n_probes, generator, batch_size=None):
        total, per_tensor = trace(model, loss_fn, x, y, n_probes, generator, batch_size)
        return total * n_probes, per_tensor

    monkeypatch.setattr(codefacts.hessian, "hutchinson_trace", summed)
    assert codefacts.hutchinson()["aggregation"] == "sum"


def test_the_evaluation_facts_are_measured(monkeypatch):
    """Loss averaging and mode are read off train.evaluate's numbers: a version that
    averages batch means in train mode reads as such."""
    assert codefacts.evaluation() == {"loss_averaging": "mean over examples",
                                      "eval_mode": "eval",
                                      "metrics_timing": "after the last step"}

    def batch_means(model, x, y, batch_size, prepare):
        model.train()
        means = [float(codefacts.torch.nn.functional.cross_entropy(
            model(prepare(x[i:i + batch_size])), y[i:i + batch_size]))
            for i in range(0, len(x), batch_size)]
        return sum(means) / len(means), 0.0

    monkeypatch.setattr(codefacts.train, "evaluate", batch_means)
    assert codefacts.evaluation()["loss_averaging"] == "mean of batch means"
    assert codefacts.evaluation()["eval_mode"] == "train"


def test_every_declared_key_exists_in_its_scales_config(paper):
    for entry in load_deviations()["deviations"]:
        config = paper if SCALE_CONFIGS[entry["scale"]] == "paper.yaml" else _config(
            SCALE_CONFIGS[entry["scale"]])
        for key in entry["keys"]:
            assert lookup(config, key), f"{entry['id']}: {key}"


def test_an_incomplete_entry_is_rejected_naming_it(tmp_path):
    data = yaml.safe_load((ROOT / "config" / "deviations.yaml").read_text())
    del data["deviations"][0]["why"]
    path = tmp_path / "deviations.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match=f"{data['deviations'][0]['id']}.*'why'"):
        load_deviations(path)
    data = yaml.safe_load((ROOT / "config" / "deviations.yaml").read_text())
    del data["authors"][3]["source"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match=r"#3 .*'source'"):
        load_deviations(path)
