"""Cost of noise injection per training step, on the CPU.

Variants, timed interleaved in one process:
  plain      a training step (zero_grad, forward, backward, SGD momentum step)
  ours       the same step inside ``NoiseInjector.perturb`` (mode all / layer cyclic)
  authors    the authors' published approach: per step and per perturbed tensor a fresh
             ``torch.normal`` tensor, ``param.data`` rebound to ``param.data + noise`` and
             rebound back to the saved tensor afterwards
  draws      the Gaussian draws alone: as many normals as the mode perturbs in that step

On a CPU the draws dominate, so the honest figure of merit is the excess
(ours - plain) / draws: 1.0 means nothing beyond the draws themselves.

Timing: this machine's speed drifts (a shared VM: the same kernel can take 5 or 8 ms a few
seconds apart), so the variants are interleaved step by step: at every step index k, each
variant runs step k once, in a fresh random order (layer mode perturbs tensor k % M in every
variant; k keeps counting across rounds, so every tensor takes its turn). A round is ``steps``
step indices; per round the excess and the ratios are computed from its summed times, and the
medians over rounds are printed with a distribution-free 95% confidence interval for the
median (order statistics; it treats rounds as independent, which slow drift makes slightly
optimistic). A target counts as met or missed only when the whole interval is on one side of
it; otherwise this run cannot tell ("undecided": run more rounds).

    python benchmarks/perturb_overhead.py            # all three models, ~35 min on 2 CPU cores
    python benchmarks/perturb_overhead.py --models mlp128 --modes layer --rounds 3000

``--baseline CHECKOUT`` also times the ``NoiseInjector`` of another checkout (its
``noise_injection/perturb.py``, loaded on its own: a version that imports nothing else of the
package) as one more interleaved variant, ``base``, and prints per mode its excess and
ours/authors, and the per-round ratio of this checkout's excess to the baseline's with its 95%
interval, against the target 0.95 <= ratio <= 1.05 (no slower, no faster, within 5%):

    python benchmarks/perturb_overhead.py --baseline /path/to/another/checkout
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import statistics
import sys
import time

import torch
from tqdm import tqdm

from noise_injection import NoiseInjector

EXCESS_TARGET = 1.2
#: --baseline: this checkout's excess over the baseline's, per round, must lie in this range.
BASELINE_TARGET = (0.95, 1.05)


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 10),
    )


def resnet18() -> torch.nn.Module:
    from noise_injection.networks.nets import build_model

    return build_model("resnet18", (3, 32, 32), 10)


MODELS = {
    "mlp128": (mlp, (1, 28, 28), 128),
    "mlp1024": (mlp, (1, 28, 28), 1024),
    "resnet18": (resnet18, (3, 32, 32), 32),
}


class AuthorsPerturbation:
    """The authors' published loop, restated: fresh normal tensors, ``.data`` rebinding."""

    def __init__(self, params, sigma, mode):
        self.params, self.sigma, self.mode = list(params), sigma, mode
        m = len(self.params)
        self.std = sigma / m**0.5 if mode == "all" else sigma

    def groups(self, step):
        m = len(self.params)
        return range(m) if self.mode == "all" else [step % m]

    def run(self, step, body):
        saved = {}
        with torch.no_grad():
            for i in self.groups(step):
                p = self.params[i]
                saved[i] = p.data
                p.data = p.data + torch.normal(0.0, self.std, size=p.shape, device=p.device)
        body()
        for i, data in saved.items():
            self.params[i].data = data


def make_step(model, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)

    def forward_backward():
        torch.nn.functional.cross_entropy(model(x), y).backward()

    def step(perturb_body):
        opt.zero_grad(set_to_none=False)
        perturb_body(forward_backward)
        opt.step()

    return step


def median_ci(values, level=0.95):
    """Distribution-free confidence interval for the median of i.i.d. values: the order
    statistics x_(j+1) and x_(n-j) (1-indexed) for the largest j with
    1 - 2 P(Binomial(n, 1/2) <= j) >= level."""
    xs, n = sorted(values), len(values)
    j, tail = -1, 0.0  # tail = P(B <= j)
    while True:
        next_tail = tail + math.comb(n, j + 1) / 2**n
        if 1 - 2 * next_tail < level:
            break
        j, tail = j + 1, next_tail
    if j < 0:
        raise ValueError(f"{n} rounds are too few for a {level:.0%} interval of the median")
    return xs[j], xs[n - 1 - j]


def load_injector(checkout):
    """The NoiseInjector class of another checkout's noise_injection/perturb.py."""
    spec = importlib.util.spec_from_file_location(
        "baseline_perturb", f"{checkout}/noise_injection/perturb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.NoiseInjector


def benchmark(name, modes, rounds, steps, sigma=0.05, baseline=None):
    build, shape, batch = MODELS[name]
    torch.manual_seed(0)
    model = build()
    params = list(model.parameters())
    x, y = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))
    step = make_step(model, x, y)
    variants = {"plain": lambda k: step(lambda body: body())}
    for mode in modes:
        ours = NoiseInjector(params, sigma=sigma, mode=mode, order="cyclic", seed=0)
        authors = AuthorsPerturbation(params, sigma, mode)
        buffers = [torch.empty_like(p) for p in params]

        def ours_step(k, ours=ours):
            def body(fb):
                with ours.perturb(k):
                    fb()
            step(body)

        if baseline is not None:
            base = baseline(params, sigma=sigma, mode=mode, order="cyclic", seed=0)
            variants[f"base/{mode}"] = lambda k, base=base: ours_step(k, base)

        def draws(k, ours=ours, buffers=buffers):
            for i in ours.groups_for_step(k):
                buffers[i].normal_(0.0, ours.std_per_tensor, generator=ours.generator)

        variants[f"ours/{mode}"] = ours_step
        variants[f"authors/{mode}"] = lambda k, a=authors: step(lambda body: a.run(k, body))
        variants[f"draws/{mode}"] = draws
    for fn in variants.values():  # warm-up
        for k in range(2):
            fn(k)
    samples = {key: [] for key in variants}
    order, shuffler = list(variants), random.Random(0)
    for r in tqdm(range(rounds), desc=name, mininterval=5, file=sys.stderr):
        totals = dict.fromkeys(variants, 0.0)
        for k in range(r * steps, (r + 1) * steps):
            shuffler.shuffle(order)
            for key in order:
                start = time.perf_counter()
                variants[key](k)
                totals[key] += time.perf_counter() - start
        for key, total in totals.items():
            samples[key].append(total / steps)
    return samples, sum(p.numel() for p in params)


def verdict(interval, meets):
    """'met' when the target predicate ``meets`` holds on the whole interval, 'missed' when it
    holds nowhere on it, else 'undecided' (the predicates here are monotone: checking the two
    ends is enough)."""
    ends = [meets(end) for end in interval]
    return "met" if all(ends) else "missed" if not any(ends) else "undecided"


def summarize(samples, mode):
    """Medians of each variant's per-round time; medians and 95% intervals of the per-round
    excess and ratios, with verdicts for the targets excess <= 1.2 and ours/authors' < 1."""
    plain, ours = samples["plain"], samples[f"ours/{mode}"]
    authors, draws = samples[f"authors/{mode}"], samples[f"draws/{mode}"]
    excess = [(o - p) / d for p, o, d in zip(plain, ours, draws)]
    vs_authors = [o / a for o, a in zip(ours, authors)]
    summary = {key: statistics.median(v) for key, v in
               {"plain": plain, "ours": ours, "authors": authors, "draws": draws,
                "excess": excess, "ours/authors": vs_authors}.items()}
    summary["ours/plain"] = statistics.median(o / p for p, o in zip(plain, ours))
    summary["excess_ci"], summary["ours/authors_ci"] = median_ci(excess), median_ci(vs_authors)
    summary["excess_verdict"] = verdict(summary["excess_ci"], lambda e: e <= EXCESS_TARGET)
    summary["ours/authors_verdict"] = verdict(summary["ours/authors_ci"], lambda r: r < 1)
    if f"base/{mode}" in samples:
        base = samples[f"base/{mode}"]
        base_excess = [(b - p) / d for p, b, d in zip(plain, base, draws)]
        ratio = [(o - p) / (b - p) for p, o, b in zip(plain, ours, base)]
        low, high = BASELINE_TARGET
        summary |= {"base excess": statistics.median(base_excess),
                    "base/authors": statistics.median(b / a for b, a in zip(base, authors)),
                    "excess/base": statistics.median(ratio), "excess/base_ci": median_ci(ratio)}
        lo, hi = summary["excess/base_ci"]  # met: inside the range; missed: disjoint from it
        summary["excess/base_verdict"] = ("met" if low <= lo and hi <= high else
                                          "missed" if hi < low or lo > high else "undecided")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--modes", nargs="+", default=["all", "layer"], choices=["all", "layer"],
                        help="injector modes to time (fewer variants: more rounds per minute)")
    parser.add_argument("--rounds", type=int, default=40,
                        help="rounds (at least 6: fewer cannot give a 95%% interval)")
    parser.add_argument("--steps", type=int, default=6,
                        help="step indices per round (6 = one layer cycle of the MLP)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--baseline", metavar="CHECKOUT", default=None,
                        help="also time this other checkout's NoiseInjector, interleaved")
    args = parser.parse_args()
    if args.rounds < 6:
        parser.error(f"--rounds must be at least 6 for a 95% interval of the median, "
                     f"got {args.rounds}")
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    if args.threads:
        torch.set_num_threads(args.threads)
    baseline = load_injector(args.baseline) if args.baseline else None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; "
          f"{args.rounds} rounds of {args.steps} interleaved steps; times: medians in ms per "
          f"step; excess and ratios: medians of per-round values [95% interval]; targets: "
          f"excess <= {EXCESS_TARGET}, ours/authors < 1")
    header = (f"{'model':9} {'mode':6} {'plain':>8} {'ours':>8} {'authors':>8} {'draws':>7} "
              f"{'excess [95%]':>19} {'':9} {'ours/plain':>10} {'ours/authors [95%]':>24}")
    print(header)
    for name in args.models:
        samples, n_params = benchmark(name, args.modes, args.rounds, args.steps,
                                      baseline=baseline)
        for mode in args.modes:
            t = summarize(samples, mode)
            print(f"{name:9} {mode:6} {t['plain']*1e3:8.2f} {t['ours']*1e3:8.2f} "
                  f"{t['authors']*1e3:8.2f} {t['draws']*1e3:7.2f} "
                  f"{t['excess']:6.2f} {_interval(t['excess_ci']):>12} "
                  f"{t['excess_verdict']:9} {t['ours/plain']:10.2f} "
                  f"{t['ours/authors']:5.2f} {_interval(t['ours/authors_ci']):>12} "
                  f"{t['ours/authors_verdict']}")
            if baseline is not None:
                low, high = BASELINE_TARGET
                print(f"{'':9} {'':6} baseline: excess {t['base excess']:.2f}, ours/authors "
                      f"{t['base/authors']:.2f}; this excess / baseline's "
                      f"{t['excess/base']:.3f} {_interval(t['excess/base_ci'])} "
                      f"(target {low}-{high}: {t['excess/base_verdict']})")
        print(f"{'':9} ({n_params / 1e6:.2f}M parameters)")


def _interval(ci):
    return "[{:.2f}, {:.2f}]".format(*ci)


if __name__ == "__main__":
    main()
