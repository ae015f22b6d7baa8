"""The deviations list (config/deviations.yaml): the README section and the report page are
generated from it, and config/paper.yaml differs from the authors' conventions only in keys
that an entry declares."""

import copy
from pathlib import Path

import pytest
import yaml

from noise_injection.workflow.config import validate_config
from noise_injection.workflow.deviations import (
    SCALE_CONFIGS,
    generated_files,
    load_deviations,
    lookup,
    undeclared_differences,
)

ROOT = Path(__file__).resolve().parents[1]


def _config(name: str) -> dict:
    return validate_config(yaml.safe_load((ROOT / "config" / name).read_text()),
                           ROOT / "config" / "schema.yaml")


def test_readme_section_and_report_page_are_up_to_date():
    for path, text in generated_files(ROOT).items():
        assert path.read_text() == text, (
            f"{path.relative_to(ROOT)} is stale: python -m noise_injection.workflow.deviations --write")


def test_paper_scale_differs_from_the_authors_only_in_declared_keys():
    assert undeclared_differences(_config("paper.yaml"), load_deviations()) == []


def test_an_undeclared_change_of_the_paper_scale_is_caught():
    paper, data = _config("paper.yaml"), load_deviations()
    changed = copy.deepcopy(paper)
    changed["networks"]["bf16"] = True
    changed["networks"]["experiments"]["mlp5_wide"]["normalization"] = "train_statistics"
    changed["networks"]["experiments"]["fcnn"]["momentum"] = 0.5
    assert sorted(d.split(" =")[0] for d in undeclared_differences(changed, data)) == [
        "networks.bf16", "networks.experiments.fcnn.momentum",
        "networks.experiments.mlp5_wide.normalization"]
    # declared keys may differ: the CIFAR CNNs' augmentation is off by a declared choice
    assert paper["networks"]["experiments"]["toy_cnn"]["augment_padding"] == 0


def test_every_declared_key_exists_in_its_scales_config():
    for entry in load_deviations()["deviations"]:
        config = _config(SCALE_CONFIGS[entry["scale"]])
        for key in entry["keys"]:
            assert lookup(config, key), f"{entry['id']}: {key}"


def test_an_incomplete_entry_is_rejected_naming_it(tmp_path):
    data = yaml.safe_load((ROOT / "config" / "deviations.yaml").read_text())
    del data["deviations"][0]["why"]
    path = tmp_path / "deviations.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match=f"{data['deviations'][0]['id']}.*'why'"):
        load_deviations(path)
