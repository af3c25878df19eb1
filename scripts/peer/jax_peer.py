"""The JAX peer of `mollify`'s training step, for the cost comparison of docs/peer.md.

It runs mollify's PINN (Fourier features [x, sin(jx), cos(jx)] for j = 1..6 per coordinate, an
input layer, residual blocks h <- h + tanh(LN(W h + b)), a two-head output) and mollify's
residuals (chromatin, order 4: the full steady-state residual with the ∇⁴ term; heat, order 2:
k∇²T + f) on the same grid, with one jit-compiled Adam step that includes the weight gradient:

- mollifier: the network outputs g on the grid; u and its derivatives are one multi-channel
  convolution of g with the kernel's analytic derivatives (orders 3-4 of g*phi*phi, as mollify);
- recursive: the paper's autodiff baseline, nested `jax.grad` per point under `vmap`.

    python jax_peer.py cell --problem chromatin --engine mollifier --depth 3 --width 64
        one cell in this process; prints one JSON line (ms/step median, peak RSS)
    python jax_peer.py table --mollify target/debug/mollify [--out docs/peer.md]
        every row of the table, each side in its own process, side by side with ratios

Reference script only (scripts/requirements.txt); never a runtime dependency of mollify.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

# The table's rows: (grid, depth, width, problem, engine). Problem fixes the derivative order.
ROWS = [
    (64, 3, 64, "chromatin", "mollifier"),
    (64, 3, 64, "chromatin", "recursive"),
    (64, 3, 64, "heat", "mollifier"),
    (64, 3, 64, "heat", "recursive"),
    (64, 10, 250, "chromatin", "mollifier"),
]
ORDER = {"chromatin": 4, "heat": 2}
KERNEL = 9  # kernel points of both sides' mollifier (odd)
NOISE = 0.05


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_cell(problem, engine, n, depth, width, steps, warm):
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import jax.numpy as jnp
    import numpy as np

    key = jax.random.PRNGKey(0)
    omegas = jnp.arange(1, 7, dtype=jnp.float32)

    def init_linear(key, fan_in, fan_out):
        k1, k2 = jax.random.split(key)
        bound = 1.0 / np.sqrt(fan_in)
        return (
            jax.random.uniform(k1, (fan_in, fan_out), jnp.float32, -bound, bound),
            jax.random.uniform(k2, (fan_out,), jnp.float32, -bound, bound),
        )

    keys = jax.random.split(key, depth + 1)
    feats = 2 * (1 + 2 * len(omegas))
    params = {
        "input": init_linear(keys[0], feats, width),
        "hidden": [
            init_linear(keys[i], width, width) + (jnp.ones(width), jnp.zeros(width))
            for i in range(1, depth)
        ],
        "output": init_linear(keys[depth], width, 2),
    }

    def net(params, xy):
        # xy: [batch, 2] normalised coordinates -> [batch, 2] (solution head, parameter head)
        parts = []
        for c in range(2):
            x = xy[:, c : c + 1]
            wx = x * omegas
            parts += [x, jnp.sin(wx), jnp.cos(wx)]
        h = jnp.tanh(jnp.concatenate(parts, axis=1) @ params["input"][0] + params["input"][1])
        for w, b, gamma, beta in params["hidden"]:
            z = h @ w + b
            centred = z - z.mean(axis=1, keepdims=True)
            var = (centred * centred).mean(axis=1, keepdims=True)
            h = h + jnp.tanh(centred / jnp.sqrt(var + 1e-5) * gamma + beta)
        return h @ params["output"][0] + params["output"][1]

    lin = jnp.linspace(-1.0, 1.0, n, dtype=jnp.float32)
    yy, xx = jnp.meshgrid(lin, lin, indexing="ij")
    xy = jnp.stack([xx.ravel(), yy.ravel()], axis=1)
    rng = np.random.default_rng(0)
    obs = jnp.asarray(rng.normal(size=(n, n)), jnp.float32)
    mask = jnp.asarray(rng.random((n, n)) < 0.1, jnp.float32)
    known = {k: jnp.asarray(rng.normal(size=(n, n)), jnp.float32) for k in ("w", "wx", "wy", "wl", "f")}
    std, mean, l, a = 1.3, 0.2, 0.03, 0.7

    def residual(u, ux, uy, lap, bih, p, kn):
        if problem == "heat":
            return p * lap + kn["f"]
        ph = (u - kn["w"] + 1.0) * 0.5
        phx, phy = (ux - kn["wx"]) * 0.5, (uy - kn["wy"]) * 0.5
        lap_h = (lap - kn["wl"]) * 0.5
        f1 = 6.0 * ph * ph - 6.0 * a * ph + a * a
        f2 = 12.0 * ph - 6.0 * a
        lap_mu = (kn["wl"] + lap) * 0.5 + f1 * lap_h + f2 * (phx * phx + phy * phy) - l * l * bih
        return lap_mu + (p - 1.0) * (1.0 - kn["w"]) - (p + 1.0) * u

    h = 1.0 / n
    if engine == "mollifier":
        taps = mollifier_taps(KERNEL, h, ORDER[problem])
        reach = taps.shape[-1] // 2
        periodic = problem == "chromatin"
        margin = 0 if periodic else reach
        crop = (lambda t: t) if periodic else (lambda t: t[margin:-margin, margin:-margin])
        kn_c = {k: crop(v) for k, v in known.items()}
        obs_c, mask_c = crop(obs), crop(mask)
        w = jnp.asarray(taps[:, None, :, :], jnp.float32)

        def derivs(params):
            out = net(params, xy)
            g = (out[:, 0] * std + mean).reshape(n, n)
            p = (out[:, 1] + 1.0).reshape(n, n)
            src = jnp.pad(g, reach, mode="wrap") if periodic else g
            d = jax.lax.conv_general_dilated(src[None, None], w, (1, 1), "VALID")[0]
            chans = list(d) + [None] * (5 - d.shape[0])
            if problem == "heat":
                return chans[0], None, None, chans[1], None, crop(p)
            return chans[0], chans[1], chans[2], chans[3], chans[4], p

    else:
        kn_c, obs_c, mask_c = known, obs, mask
        order = ORDER[problem]

        def heads(params, x, y):
            return net(params, jnp.stack([x, y])[None])[0]

        def u_at(params, x, y):
            return heads(params, x, y)[0] * std + mean

        def derivs(params):
            gx = jax.grad(u_at, 1)
            gy = jax.grad(u_at, 2)
            gxx, gyy = jax.grad(gx, 1), jax.grad(gy, 2)

            def point(x, y):
                # Both heads from one forward pass per point (u_at's, merged by XLA's CSE).
                out = heads(params, x, y)
                u, p = out[0] * std + mean, out[1] + 1.0
                lap = gxx(params, x, y) + gyy(params, x, y)
                if order == 2:
                    return u, 0.0, 0.0, lap, 0.0, p
                gxxxx = jax.grad(jax.grad(gxx, 1), 1)
                gxxyy = jax.grad(jax.grad(gxx, 2), 2)
                gyyyy = jax.grad(jax.grad(gyy, 2), 2)
                bih = gxxxx(params, x, y) + 2.0 * gxxyy(params, x, y) + gyyyy(params, x, y)
                return u, gx(params, x, y), gy(params, x, y), lap, bih, p

            u, ux, uy, lap, bih, p = jax.vmap(point)(xy[:, 0], xy[:, 1])
            r = lambda t: t.reshape(n, n)
            return r(u), r(ux), r(uy), r(lap), r(bih), r(p)

    def loss_fn(params):
        u, ux, uy, lap, bih, p = derivs(params)
        misfit = (u - obs_c) / std
        data = (misfit * misfit * mask_c).sum() / mask_c.sum()
        res = residual(u, ux, uy, lap, bih, p, kn_c) / 2.0
        return data + (res * res).mean()

    b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8

    @jax.jit
    def step(params, m, v, t):
        loss, g = jax.value_and_grad(loss_fn)(params)
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1**t, 1 - b2**t
        params = jax.tree.map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v
        )
        return params, m, v, loss

    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    times = []
    for t in range(1, warm + steps + 1):
        start = time.perf_counter()
        params, m, v, loss = step(params, m, v, float(t))
        loss.block_until_ready()
        if t > warm:
            times.append(time.perf_counter() - start)
    if not np.isfinite(float(loss)):
        raise SystemExit(f"error: the JAX {engine} step diverged (loss {float(loss)})")
    return {
        "ms_per_step": 1e3 * statistics.median(times),
        "peak_rss_mib": peak_rss_mib(),
        "jax": jax.__version__,
    }


def mollifier_taps(k, h, order):
    """Dense 2D taps [channels, K, K] of u, ∂x, ∂y, ∇², ∇⁴ (∇⁴ of the kernel convolved with
    itself, as mollify's orders 3-4) for the bump kernel on k points; order 2 keeps u and ∇²."""
    import numpy as np

    r = (k - 1) // 2
    s = np.arange(-r, r + 1) / (r + 1)
    eps = (r + 1) * h

    def bump(d):
        # derivatives of exp(-1/(1-s²)) by finite differences of a fine sample, then sampled
        fine = np.linspace(-1, 1, 20001)
        with np.errstate(divide="ignore", over="ignore"):
            f = np.where(np.abs(fine) < 1, np.exp(-1.0 / np.maximum(1 - fine**2, 1e-300)), 0.0)
        for _ in range(d):
            f = np.gradient(f, fine)
        return np.interp(s, fine, f) / eps**d

    p0, p1, p2 = bump(0), bump(1), bump(2)
    norm = p0.sum() * h
    p0, p1, p2 = p0 / norm * h, p1 / norm * h, p2 / norm * h
    lap = np.outer(p2, p0) + np.outer(p0, p2)
    big = 2 * k - 1

    def embed(t):
        e = np.zeros((big, big))
        o = (big - t.shape[0]) // 2
        e[o : o + t.shape[0], o : o + t.shape[1]] = t
        return e

    out = [np.outer(p0, p0), np.outer(p0, p1), np.outer(p1, p0), lap]
    if order == 2:
        return np.stack([out[0], out[3]])
    from scipy.signal import convolve2d

    out.append(convolve2d(lap, lap))
    return np.stack([embed(t) for t in out])


def mollify_cell(binary, problem, engine, n, depth, width, steps, warm):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            binary, "train", "--data", problem, "-q", "--engine", engine, "--depth", str(depth),
            "--width", str(width), "--steps", str(warm + steps), "--noise", str(NOISE),
            "--kernel-size", str(KERNEL), "--out", os.path.join(tmp, "run"),
            # The peer's boundaries: mollify's heat default is the network halo, the peer crops.
            "--boundary", "periodic" if problem == "chromatin" else "valid",
            # The peer's features j = 1..6 (heat's default is 0.5..3: the same cost).
            "--fourier-max", "6",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"error: {' '.join(cmd)} failed: {done.stderr.strip()[-400:]}")
        with open(os.path.join(tmp, "run", "metrics.csv")) as f:
            rows = f.read().splitlines()
        col = rows[0].split(",").index("seconds")
        secs = [float(r.split(",")[col]) for r in rows[1:]][warm:]
        with open(os.path.join(tmp, "run", "summary.json")) as f:
            summary = json.load(f)
    return {
        "ms_per_step": 1e3 * statistics.median(secs),
        "peak_rss_mib": summary.get("peak_memory_mib"),
        "counter": summary.get("memory_counter"),
    }


def table(args):
    lines = [
        "| grid, net, order | engine | mollify ms/step | JAX ms/step | ratio | ratio per turn "
        "| mollify MiB | JAX MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    print(lines[0], flush=True)
    print(lines[1], flush=True)
    for n, depth, width, problem, engine in ROWS:
        steps = args.steps if engine == "mollifier" else max(3, args.steps // 5)
        cmd = [
            sys.executable, __file__, "cell", "--problem", problem, "--engine", engine,
            "--grid", str(n), "--depth", str(depth), "--width", str(width),
            "--steps", str(steps), "--warm", str(args.warm),
        ]
        # Shared and virtual machines drift by tens of percent over minutes: the two sides take
        # turns, and each reports the median of its repeats' medians.
        runs = {"ours": [], "peer": []}
        for _ in range(args.repeats):
            runs["ours"].append(
                mollify_cell(args.mollify, problem, engine, n, depth, width, steps, args.warm)
            )
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"error: the JAX cell failed: {done.stderr.strip()[-400:]}")
            runs["peer"].append(json.loads(done.stdout.strip().splitlines()[-1]))
        ours, peer = (
            {
                "ms_per_step": statistics.median(r["ms_per_step"] for r in rs),
                "peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
            }
            for rs in (runs["ours"], runs["peer"])
        )
        jax_version = runs["peer"][0]["jax"]
        ratio = ours["ms_per_step"] / peer["ms_per_step"]
        turns = sorted(
            o["ms_per_step"] / p["ms_per_step"] for o, p in zip(runs["ours"], runs["peer"])
        )
        mem = ours["peak_rss_mib"]
        line = (
            f"| {n}², {depth}×{width}, {ORDER[problem]} ({problem}) | {engine} | "
            f"{ours['ms_per_step']:.1f} | {peer['ms_per_step']:.1f} | {ratio:.2f}× | "
            f"{turns[0]:.2f}–{turns[-1]:.2f}× | "
            f"{mem:.0f} | {peer['peak_rss_mib']:.0f} |"
        )
        lines.append(line)
        print(line, flush=True)
    if args.out:
        cpu = next(
            (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
            "unknown CPU",
        )
        head = (
            "# mollify against JAX on the same machine\n\n"
            f"Made by `bash scripts/peer.sh` on {cpu} ({os.cpu_count()} cores), JAX {jax_version} "
            f"on the CPU, mollify's dev-profile binary. ms/step: the median over {args.repeats} "
            f"alternating runs of each side of the median of {args.steps} steps "
            f"(recursive: {max(3, args.steps // 5)}) after {args.warm} warm-up steps, one Adam step "
            "including the weight gradient and the loss readback; *ratio per turn*: the least and "
            "greatest ratio within one turn's pair, the spread this machine's drift leaves. Memory: each side's process peak "
            f"RSS (the same counter). Kernel {KERNEL} points, noise {NOISE:.0%}, "
            "chromatin periodic, heat valid (cropped).\n\n"
        )
        with open(args.out, "w") as f:
            f.write(head + "\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cell")
    c.add_argument("--problem", choices=ORDER, required=True)
    c.add_argument("--engine", choices=["mollifier", "recursive"], required=True)
    c.add_argument("--grid", type=int, default=64)
    c.add_argument("--depth", type=int, default=3)
    c.add_argument("--width", type=int, default=64)
    c.add_argument("--steps", type=int, default=20)
    c.add_argument("--warm", type=int, default=3)
    t = sub.add_parser("table")
    t.add_argument("--mollify", required=True, help="the mollify binary")
    t.add_argument("--steps", type=int, default=20)
    t.add_argument("--warm", type=int, default=3)
    t.add_argument("--repeats", type=int, default=3, help="alternating runs per cell and side")
    t.add_argument("--out")
    a = ap.parse_args()
    if a.cmd == "cell":
        r = run_cell(a.problem, a.engine, a.grid, a.depth, a.width, a.steps, a.warm)
        print(json.dumps(r))
    else:
        table(a)


if __name__ == "__main__":
    main()
