"""Fig. 2: gradient descent with and without weight noise on a one-hidden-layer linear net.

Data: n Gaussian points x_i ~ N(0, I_{d0}), scalar target y = a . x[:k] (a linear function of
the first k coordinates). Net: predictions w^T W1 X^T with W1 (d1, d0) and w (d1,) (W2 = w^T),
mean-field initialization (entries N(0, 1/(d1 d0)) and N(0, 1/d1)), loss
R = ||y - X W1^T w||^2 / (2n).

Methods, all full-batch with the same learning rate, sigma in the theory's convention:

- ``"gd"``: gradient descent on R;
- ``"layer"``: the gradient of R at the weights with one of the two layers (uniformly at
  random) perturbed by N(0, 2 sigma^2) noise, the step applied to the clean weights;
- ``"all"``: the same with N(0, sigma^2) noise on every weight;
- ``"reff"``: gradient descent on R_eff = R + (sigma^2/(2n)) (||W1 X^T||^2 + ||w||^2 ||X||^2).

Every step costs O(d1 d0) and draws O(d1) normals per noisy net. With S = X^T X / n,
c = X^T y / n, perturbed weights W1' = W1 + s1 E1, w' = w + s2 e2 and g = c - S W1'^T w':

    dR/dW1 = -w' g^T,    dR/dw = -W1' g = -(W1 g + s1 E1 g).

E1 enters only through a = E1^T w' (in g) and E1 g. Conditioning the i.i.d. matrix E1 on a
(a ~ N(0, ||w'||^2 I)) gives E1 g = w' (a . g) / ||w'||^2 + ||g|| P xi with xi ~ N(0, I_{d1})
and P the projection orthogonal to w': the same joint law as drawing all of E1, with d0 + d1
normals instead of d0 d1. The loop is compiled with numba; all nets of a batch (methods x
seeds) advance together; the weights are float64, the normals are drawn in float32 by torch.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch
from tqdm import tqdm

METHODS = ("gd", "layer", "all", "reff")
#: Largest number of steps between two progress updates.
_CHUNK = 1_000


def planted_regression(n: int, dim: int, coefficients, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X (n, dim) with i.i.d. N(0, 1) entries and y (n,) = X[:, :k] @ coefficients."""
    coefficients = np.asarray(coefficients, dtype=np.float64)
    X = np.random.default_rng(seed).standard_normal((n, dim))
    return X, X[:, : len(coefficients)] @ coefficients


def record_iterations(iterations: int, num_records: int) -> np.ndarray:
    """0 and about ``num_records`` log-spaced iterations up to ``iterations`` (inclusive)."""
    grid = np.unique(np.round(np.logspace(0, math.log10(iterations), num_records)).astype(int))
    return np.concatenate([[0], grid])


def risks(W1: np.ndarray, w: np.ndarray, X: np.ndarray, y: np.ndarray,
          sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """R and R_eff (theory's sigma) of a batch of nets W1 (B, d1, d0), w (B, d1)."""
    n = X.shape[0]
    hidden = W1 @ X.T
    risk = np.sum((y - np.einsum("bj,bjn->bn", w, hidden)) ** 2, axis=1) / (2 * n)
    penalty = np.sum(hidden**2, axis=(1, 2)) + np.sum(w**2, axis=1) * np.sum(X**2)
    return risk, risk + sigma**2 * penalty / (2 * n)


#: A net whose second-layer weights reach this norm has diverged (its loss overflows soon).
_BLOWUP = 1e100
#: numba's fast-math without the no-NaN / no-inf assumptions, so the divergence test holds.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@numba.njit(cache=True, fastmath=_FASTMATH)
def _advance(W1T, w, s1, s2, shrink, S, c, lr, normals):
    """len(s1) steps of every net b, in place, with W1 stored transposed (W1T[b] = W1^T, so
    the inner loops run over d1): noise std s1[t, b] on W1 and s2[t, b] on w, R_eff penalty
    weight shrink[b] (sigma^2 for GD on R_eff, else 0). Normals are consumed in order:
    e2 (d1) when s2 > 0, then zeta (d0) and xi (d1) when s1 > 0. A diverged net (norm of
    the perturbed w not in (0, _BLOWUP)) is set to NaN and left there."""
    batch, d0, d1 = W1T.shape
    trace_S = np.trace(S)
    wp = np.empty(d1)
    W1g = np.empty(d1)
    m = np.empty(d0)
    g = np.empty(d0)
    a = np.empty(d0)
    SW = np.empty((d0, d1))
    pos = 0
    for step in range(s1.shape[0]):
        for b in range(batch):
            sig1, sig2 = s1[step, b], s2[step, b]
            W = W1T[b]
            if sig2 > 0:
                for j in range(d1):
                    wp[j] = w[b, j] + sig2 * normals[pos + j]
                pos += d1
            else:
                for j in range(d1):
                    wp[j] = w[b, j]
            norm_wp = math.sqrt(np.dot(wp, wp))
            if not (0.0 < norm_wp < _BLOWUP):  # diverged (also NaN): freeze the net at NaN
                w[b, :] = np.nan
                W[:, :] = np.nan
                if sig1 > 0:
                    pos += d0 + d1  # the other nets keep their normals
                continue
            for k in range(d0):
                a[k] = norm_wp * normals[pos + k] if sig1 > 0 else 0.0
                acc = 0.0
                for j in range(d1):
                    acc += wp[j] * W[k, j]
                m[k] = acc + sig1 * a[k]
            norm_g, a_dot_g = 0.0, 0.0
            for k in range(d0):
                acc = c[k]
                for l in range(d0):
                    acc -= S[k, l] * m[l]
                g[k] = acc
                norm_g += acc * acc
                a_dot_g += a[k] * acc
            norm_g = math.sqrt(norm_g)
            # W1' g = W1 g + s1 E1 g, E1 g = w' (a.g - ||g|| w'.xi)/||w'||^2 + ||g|| xi
            xi = pos + d0
            if sig1 > 0:
                wp_dot_xi = 0.0
                for j in range(d1):
                    wp_dot_xi += wp[j] * normals[xi + j]
                coef = (a_dot_g - norm_g * wp_dot_xi) / (norm_wp * norm_wp)
                for j in range(d1):
                    W1g[j] = sig1 * (wp[j] * coef + norm_g * normals[xi + j])
                pos += d0 + d1
            else:
                for j in range(d1):
                    W1g[j] = 0.0
            for k in range(d0):
                gk = g[k]
                for j in range(d1):
                    W1g[j] += W[k, j] * gk
            lam = shrink[b]
            if lam > 0:
                for k in range(d0):
                    for j in range(d1):
                        SW[k, j] = 0.0
                    for l in range(d0):
                        skl = S[k, l]
                        for j in range(d1):
                            SW[k, j] += skl * W[l, j]
                for k in range(d0):
                    step_g = lr * g[k]
                    for j in range(d1):
                        W[k, j] += step_g * wp[j] - lr * lam * SW[k, j]
            else:
                for k in range(d0):
                    step_g = lr * g[k]
                    for j in range(d1):
                        W[k, j] += step_g * wp[j]
            for j in range(d1):
                w[b, j] += lr * (W1g[j] - lam * trace_S * w[b, j])


def advance(W1: np.ndarray, w: np.ndarray, kinds: np.ndarray, S: np.ndarray, c: np.ndarray,
            sigma: float, lr: float, steps: int, generator: torch.Generator) -> None:
    """``steps`` steps of the nets (W1 (B, d1, d0), w (B, d1)) in place; kinds[b] indexes
    METHODS. The layer choices of all steps (layer-wise noise), then exactly the normals
    those steps need, are drawn from ``generator`` (torch, float32)."""
    batch, d1, d0 = W1.shape
    is_layer = kinds == METHODS.index("layer")
    is_all = kinds == METHODS.index("all")
    first = torch.rand((steps, batch), generator=generator, dtype=torch.float64).numpy() < 0.5
    s1 = np.where(is_all, sigma, np.where(is_layer & first, math.sqrt(2) * sigma, 0.0))
    s2 = np.where(is_all, sigma, np.where(is_layer & ~first, math.sqrt(2) * sigma, 0.0))
    count = int(np.count_nonzero(s2) * d1 + np.count_nonzero(s1) * (d0 + d1))
    normals = torch.randn(count, generator=generator, dtype=torch.float32).numpy()
    shrink = np.where(kinds == METHODS.index("reff"), sigma**2, 0.0)
    W1T = np.ascontiguousarray(W1.transpose(0, 2, 1))
    _advance(W1T, w, s1, s2, shrink, S, c, lr, normals)
    W1[...] = W1T.transpose(0, 2, 1)


def run_dynamics(X: np.ndarray, y: np.ndarray, width: int, sigma: float, lr: float,
                 iterations: int, seeds: list[int], noise_seed: int, records: np.ndarray,
                 methods=METHODS, progress: bool = True) -> dict:
    """Run every method for every seed from the seed's mean-field init (all methods of a seed
    start from the same weights); the noise of the whole batch and the layer choices come
    from one torch stream seeded with ``noise_seed``. Returns ``risk`` and
    ``effective_risk`` arrays (method, seed, record) at the iterations ``records`` and a
    ``diverged`` (method, seed) flag."""
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d0 = X.shape
    inits = {s: np.random.default_rng(s) for s in seeds}
    W1_0 = {s: inits[s].standard_normal((width, d0)) / math.sqrt(width * d0) for s in seeds}
    w_0 = {s: inits[s].standard_normal(width) / math.sqrt(width) for s in seeds}
    W1 = np.stack([W1_0[s] for _ in methods for s in seeds])
    w = np.stack([w_0[s] for _ in methods for s in seeds])
    kinds = np.repeat([METHODS.index(m) for m in methods], len(seeds)).astype(np.int64)
    S, c = X.T @ X / n, X.T @ y / n
    shape = (len(methods), len(seeds), len(records))
    risk, eff = np.full(shape, np.nan), np.full(shape, np.nan)
    noise = torch.Generator().manual_seed(noise_seed)
    bar = tqdm(total=iterations, desc=f"width {width}", mininterval=5, disable=not progress)
    done = 0
    for i, target in enumerate(records):
        while done < target:
            steps = min(_CHUNK, target - done)
            advance(W1, w, kinds, S, c, sigma, lr, steps, noise)
            done += steps
            bar.update(steps)
        r, e = risks(W1, w, X, y, sigma)
        risk[:, :, i], eff[:, :, i] = r.reshape(shape[:2]), e.reshape(shape[:2])
    bar.close()
    return {
        "methods": list(methods),
        "seeds": list(seeds),
        "iterations": np.asarray(records).tolist(),
        "risk": risk,
        "effective_risk": eff,
        "diverged": ~np.isfinite(eff[:, :, -1]),
    }


def gd_end_point(X: np.ndarray, y: np.ndarray, width: int, lr: float, iterations: int,
                 seeds: list[int]) -> dict:
    """Plain GD's end point per seed (the Fig. 2 inits): its risk R and its R_eff penalty at
    sigma = 1, P / (2n) with P = ||W1 X^T||^2 + ||w||^2 ||X||^2, so that its R_eff at any
    sigma is risk + sigma^2 penalty (GD itself does not depend on sigma)."""
    out = run_dynamics(X, y, width, 1.0, lr, iterations, seeds, 0, np.array([iterations]),
                       methods=("gd",), progress=False)
    risk, eff = out["risk"][0, :, -1], out["effective_risk"][0, :, -1]
    return {"risk": risk.tolist(), "penalty": (eff - risk).tolist()}
