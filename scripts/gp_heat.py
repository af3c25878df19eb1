"""A no-network reference for heat: Gaussian-process regression of the observed T.

What the data alone allow: a GP with an RBF kernel (length scale, signal and noise variance
by maximum marginal likelihood) is fitted to a heat dataset's observed points, its posterior
mean's Laplacian (analytic) is scored against the clean solution's five-point Laplacian on
the interior mollify scores (20 % of each axis left out), and so is k̂ = −f/∇²T̂.

    for s in 0 1 2 3 4; do mollify simulate heat --noise 0.05 --data-seed $s --out data/heat$s; done
    python scripts/gp_heat.py data/heat0 data/heat1 data/heat2 data/heat3 data/heat4

Reference only (numpy/scipy from scripts/requirements.txt); never a dependency of mollify.
"""

import sys

import numpy as np
from scipy.optimize import minimize

INSET = 0.2


def corr(a, b):
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


def five_point_laplacian(t, h):
    lap = np.full_like(t, np.nan)
    lap[1:-1, 1:-1] = (t[2:, 1:-1] + t[:-2, 1:-1] + t[1:-1, 2:] + t[1:-1, :-2] - 4 * t[1:-1, 1:-1]) / h**2
    return lap


def score(folder):
    load = lambda name: np.load(f"{folder}/{name}.npy")
    t, t_clean, k, f, mask = load("T"), load("T_clean"), load("k"), load("f"), load("mask")
    n = t.shape[0]
    ys, xs = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing="ij")
    seen = mask > 0
    x, y = np.c_[xs[seen], ys[seen]], t[seen]
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)

    def nll(p):
        ell, s2, sn = np.exp(p)
        kxx = s2 * np.exp(-d2 / (2 * ell * ell)) + (sn + 1e-10) * np.eye(len(y))
        try:
            c = np.linalg.cholesky(kxx)
        except np.linalg.LinAlgError:
            return 1e10
        a = np.linalg.solve(c.T, np.linalg.solve(c, y))
        return 0.5 * y @ a + np.log(np.diag(c)).sum()

    fit = min(
        (minimize(nll, np.log([ell, 0.1, 1e-3]), method="Nelder-Mead", options={"maxiter": 2000})
         for ell in (0.1, 0.2, 0.4)),
        key=lambda r: r.fun,
    )
    ell, s2, sn = np.exp(fit.x)
    alpha = np.linalg.solve(s2 * np.exp(-d2 / (2 * ell * ell)) + sn * np.eye(len(y)), y)
    grid = np.c_[xs.ravel(), ys.ravel()]
    g2 = ((grid[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    kernel = s2 * np.exp(-g2 / (2 * ell * ell))
    lap = ((kernel * (g2 / ell**4 - 4 / ell**2)) @ alpha).reshape(n, n)
    i = int(round(INSET * n))
    inner = (slice(i, n - i),) * 2
    truth = five_point_laplacian(t_clean, 1 / (n - 1))
    return ell, corr(lap[inner], truth[inner]), corr((-f / lap)[inner], k[inner])


if __name__ == "__main__":
    rows = []
    for folder in sys.argv[1:]:
        ell, c_lap, c_k = score(folder)
        rows.append((c_lap, c_k))
        print(f"{folder}: length scale {ell:.3f}, ∇²T corr {c_lap:.3f}, k̂ = −f/∇²T̂ corr {c_k:.3f}")
    if rows:
        m = np.mean(rows, axis=0)
        print(f"mean over {len(rows)}: ∇²T corr {m[0]:.3f}, k̂ corr {m[1]:.3f}")
