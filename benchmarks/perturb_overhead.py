"""Cost of noise injection per training step, on the CPU.

Variants, timed interleaved in one process: every round runs each variant for the same steps
(so layer mode perturbs the same tensors in every variant), in a fresh random order:
  plain      a training step (zero_grad, forward, backward, SGD momentum step)
  ours       the same step inside ``NoiseInjector.perturb`` (mode all / layer cyclic)
  authors    the authors' published approach: per step and per perturbed tensor a fresh
             ``torch.normal`` tensor, ``param.data`` rebound to ``param.data + noise`` and
             rebound back to the saved tensor afterwards
  draws      the Gaussian draws alone: as many normals as the mode perturbs in that step

On a CPU the draws dominate, so the honest figure of merit is the excess
(ours - plain) / draws: 1.0 means nothing beyond the draws themselves. The machine's speed
drifts (a shared VM: the same kernel can take 5 or 8 ms a few seconds apart), so the excess and
the ours/authors' ratio are computed per round, from variants timed seconds apart, and the
medians over rounds are printed (plain/ours/authors/draws columns: medians of each variant).

    python benchmarks/perturb_overhead.py            # all three models
    python benchmarks/perturb_overhead.py --rounds 5 --models mlp128
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch

from noise_injection import NoiseInjector


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 10),
    )


def resnet18() -> torch.nn.Module:
    from noise_injection.nets import build_model

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
                p.data = p.data + torch.normal(0.0, self.std, size=p.shape)
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


def time_steps(fn, steps):
    start = time.perf_counter()
    for k in range(steps):
        fn(k)
    return (time.perf_counter() - start) / steps


def benchmark(name, rounds, steps, sigma=0.05):
    build, shape, batch = MODELS[name]
    torch.manual_seed(0)
    model = build()
    params = list(model.parameters())
    x, y = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))
    step = make_step(model, x, y)
    variants = {"plain": lambda k: step(lambda body: body())}
    for mode in ("all", "layer"):
        ours = NoiseInjector(params, sigma=sigma, mode=mode, order="cyclic", seed=0)
        authors = AuthorsPerturbation(params, sigma, mode)
        buffers = [torch.empty_like(p) for p in params]

        def ours_step(k, ours=ours):
            def body(fb):
                with ours.perturb(k):
                    fb()
            step(body)

        def draws(k, ours=ours, buffers=buffers):
            for i in ours.groups_for_step(k):
                buffers[i].normal_(0.0, ours.std_per_tensor, generator=ours.generator)

        variants[f"ours/{mode}"] = ours_step
        variants[f"authors/{mode}"] = lambda k, a=authors: step(lambda body: a.run(k, body))
        variants[f"draws/{mode}"] = draws
    for fn in variants.values():  # warm-up
        time_steps(fn, 2)
    samples = {key: [] for key in variants}
    order, shuffler = list(variants), random.Random(0)
    for _ in range(rounds):
        shuffler.shuffle(order)
        for key in order:
            samples[key].append(time_steps(variants[key], steps))
    return samples, sum(p.numel() for p in params)


def summarize(samples, mode):
    """Medians of each variant; per-round excess (median and interquartile range: when the
    draws are a small part of the step, the IQR shows that the excess is timing noise) and
    per-round ratios (medians)."""
    plain, ours = samples["plain"], samples[f"ours/{mode}"]
    authors, draws = samples[f"authors/{mode}"], samples[f"draws/{mode}"]
    excess = [(o - p) / d for p, o, d in zip(plain, ours, draws)]
    return {
        "plain": statistics.median(plain), "ours": statistics.median(ours),
        "authors": statistics.median(authors), "draws": statistics.median(draws),
        "excess": statistics.median(excess),
        "excess_iqr": statistics.quantiles(excess, n=4)[::2],
        "ours/plain": statistics.median(o / p for p, o in zip(plain, ours)),
        "ours/authors": statistics.median(o / a for o, a in zip(ours, authors)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=12,
                        help="steps per timed block (12 = two layer cycles of the MLP)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; medians of "
          f"{args.rounds} interleaved rounds of {args.steps} steps; times in ms per step; "
          f"excess and ratios: medians of per-round values")
    header = (f"{'model':10} {'mode':6} {'plain':>8} {'ours':>8} {'authors':>8} {'draws':>8} "
              f"{'excess':>7} {'(IQR over rounds)':>18} {'ours/plain':>10} {'ours/authors':>12}")
    print(header)
    for name in args.models:
        samples, n_params = benchmark(name, args.rounds, args.steps)
        for mode in ("all", "layer"):
            t = summarize(samples, mode)
            print(f"{name:10} {mode:6} {t['plain']*1e3:8.2f} {t['ours']*1e3:8.2f} "
                  f"{t['authors']*1e3:8.2f} {t['draws']*1e3:8.2f} {t['excess']:7.2f} "
                  f"{'[{:.2f}, {:.2f}]'.format(*t['excess_iqr']):>18} "
                  f"{t['ours/plain']:10.2f} {t['ours/authors']:12.2f}")
        print(f"{'':10} ({n_params / 1e6:.2f}M parameters)")


if __name__ == "__main__":
    main()
