"""The registry of the paper's numbers (config/paper_numbers.yaml): complete entries, the two
corrected quotes, and no paper number typed anywhere else in the claims code, the claims
scripts, the review notebook or the report captions (which read it through the rules'
``paper`` params)."""

import re
from pathlib import Path

import pytest
import yaml

from noise_injection.claims import paper_numbers as paper

ROOT = Path(__file__).resolve().parents[1]
READERS = [*sorted((ROOT / "noise_injection" / "claims").glob("*.py")),
           *sorted(ROOT.glob("scripts/*/claims.py")), ROOT / "notebooks" / "review.ipynb",
           *sorted((ROOT / "report").glob("*.rst"))]


def numbers(value):
    if isinstance(value, dict):
        out = [x for v in value.values() for x in numbers(v)]
        if "none" in value:  # the effects a reader would quote: setting - GD
            out += [v - value["none"] for k, v in value.items()
                    if k != "none" and isinstance(v, (int, float))]
        return out
    if isinstance(value, list):
        return [x for v in value for x in numbers(v)]
    return [] if value is None else [float(value)]


def significant_digits(x: float) -> int:
    mantissa = f"{abs(x):.6g}".split("e")[0].replace(".", "").strip("0")
    return len(mantissa)


def spellings(x: float) -> set[str]:
    out = {f"{abs(x):g}"}
    if abs(x) >= 1000:
        out |= {str(int(round(abs(x)))), f"{abs(x):.1e}".replace("+0", ""),
                f"{abs(x):.1e}"}
    return out


def test_registry_entries_are_complete():
    entries = paper.registry()
    assert len(entries) >= 15
    for key, entry in entries.items():
        assert entry["source"] in paper.SOURCES, key
    assert paper.source("resnet18_layer_test_acc") == (
        "Fig. 6, test accuracy vs sigma, layer-wise; read off the figure")


def test_a_bad_entry_is_refused_naming_it(tmp_path):
    entries = yaml.safe_load(paper.REGISTRY.read_text())
    entries["fig1_all_max"]["source"] = "remembered"
    with pytest.raises(ValueError, match="fig1_all_max.*remembered"):
        paper.check_registry(entries)
    del entries["fig1_all_max"]["source"]
    with pytest.raises(ValueError, match="fig1_all_max.*source"):
        paper.check_registry(entries)
    with pytest.raises(KeyError, match="fig99"):
        paper.entry("fig99")


def test_the_two_misquotes_are_corrected():
    # C5a: the final-iteration gain at sigma 0.05 is about +0.5, not Fig. 3's mid-run +1.2..1.8
    assert paper.value("mlp3_wide_sigma_layer_gain", at=0.05) == 0.5
    # toy CNN: layer-wise alone is +6.1 (the all-weights gain is +5.8)
    gain = paper.value("toy_cnn_test_acc", "layer") - paper.value("toy_cnn_test_acc", "none")
    assert gain == pytest.approx(6.1)


def test_no_paper_number_is_typed_outside_the_registry():
    values = {round(x, 6) for e in paper.registry().values() for x in numbers(e["value"])}
    targets = {s for x in values if x and significant_digits(x) >= 2 for s in spellings(x)}
    assert {"94.39", "6.1", "1.7", "0.011", "3600"} <= targets  # the oracle covers them
    found = []
    for path in READERS:
        text = path.read_text()
        for spelled in targets:
            if re.search(rf"(?<![\w.]){re.escape(spelled)}(?![\d])", text):
                found.append(f"{path.relative_to(ROOT)}: {spelled}")
    assert not found, found
