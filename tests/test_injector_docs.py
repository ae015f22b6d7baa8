"""docs/injector.md's loops run as printed, around a user's model, optimizer, loss and loader
(the harness of the README's snippets); the DDP script is loaded, not spawned (its loop is
tests/test_injector_ddp.py's)."""

import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "injector.md").read_text(), re.S)

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.filterwarnings("error::noise_injection.perturb.InjectorWarning")]


def harness() -> dict:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    return {"torch": torch, "model": model, "loss_fn": torch.nn.CrossEntropyLoss(),
            "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
            "loader": [(torch.randn(6, 4), torch.randint(0, 2, (6,))) for _ in range(3)],
            "__name__": "docs_injector"}


def test_the_guide_has_its_loops():
    assert len(BLOCKS) == 5 and "init_process_group" in BLOCKS[-1]


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_the_guide_s_loops_run_as_printed(index):
    namespace = harness()
    before = [p.detach().clone() for p in namespace["model"].parameters()]
    exec(compile(BLOCKS[index], f"docs/injector.md, python block {index}", "exec"), namespace)
    if "init_process_group" in BLOCKS[index]:
        assert callable(namespace["main"])
    else:  # it trained
        assert not all(torch.equal(p, b) for p, b in zip(namespace["model"].parameters(), before))
