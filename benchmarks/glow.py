"""Speed of a GLOW coupling stack: inn against FrEIA 0.2 in the same run, as time ratios.

Eight ``GLOWCouplingBlock``s in a ``SequenceINN`` (16 features, subnet MLP with one hidden
layer of 128 units, batch 512) on one CPU thread. Times forward, reverse, and one training step
(forward, NLL backward, Adam step) for both libraries with identical weights, interleaving the
repeats so that machine noise hits both alike, and prints the medians and the ratios inn/FrEIA.

Run: ``python benchmarks/glow.py`` (about a minute; ``--repeats N`` to change the sample size).
"""

import argparse
import statistics
import time

import torch
import torch.nn as nn

import inn

DIMS, BLOCKS, HIDDEN, BATCH = 16, 8, 128, 512


def subnet(c_in, c_out):
    return nn.Sequential(nn.Linear(c_in, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, c_out))


def build(framework, modules):
    torch.manual_seed(0)
    net = framework.SequenceINN(DIMS)
    for _ in range(BLOCKS):
        net.append(modules.GLOWCouplingBlock, subnet_constructor=subnet)
    return net


def make_tasks(net, x):
    z = net(x)[0].detach()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)

    def forward():
        with torch.no_grad():
            net(x)

    def reverse():
        with torch.no_grad():
            net(z, rev=True)

    def train_step():
        optimizer.zero_grad()
        out, log_jac_det = net(x)
        loss = (0.5 * out.pow(2).sum(1) - log_jac_det).mean()
        loss.backward()
        optimizer.step()

    return {"forward": forward, "reverse": reverse, "train step": train_step}


def time_once(fn, inner):
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60, help="interleaved samples per task")
    parser.add_argument("--inner", type=int, default=5, help="calls per sample")
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = torch.randn(BATCH, DIMS, generator=torch.Generator().manual_seed(1))

    contenders = {"inn": build(inn.framework, inn.modules)}
    try:
        import FrEIA.framework as freia_framework
        import FrEIA.modules as freia_modules
    except ImportError:
        print("FrEIA not installed: timing inn alone.")
    else:
        contenders["FrEIA"] = build(freia_framework, freia_modules)
        contenders["inn"].load_state_dict(contenders["FrEIA"].state_dict())
        with torch.no_grad():
            z_inn, z_freia = contenders["inn"](x)[0], contenders["FrEIA"](x)[0]
        error = (z_inn - z_freia).abs().max() / z_freia.abs().max()
        print(f"same weights, max |z_inn - z_FrEIA| / max |z_FrEIA| = {float(error):.1e}")

    tasks = {name: make_tasks(net, x) for name, net in contenders.items()}
    times = {(name, task): [] for name in contenders for task in tasks["inn"]}
    for task in tasks["inn"]:
        for name in contenders:  # warm-up
            time_once(tasks[name][task], 3)
        for _ in range(args.repeats):
            for name in contenders:
                times[name, task].append(time_once(tasks[name][task], args.inner))

    print(f"GLOW stack: {BLOCKS} blocks, D={DIMS}, hidden {HIDDEN}, batch {BATCH}, 1 CPU thread, "
          f"median of {args.repeats} x {args.inner} calls")
    header = f"{'task':<12}{'inn [ms]':>10}"
    if "FrEIA" in contenders:
        header += f"{'FrEIA [ms]':>12}{'inn/FrEIA':>11}"
    print(header)
    for task in tasks["inn"]:
        ours = statistics.median(times["inn", task]) * 1e3
        line = f"{task:<12}{ours:>10.3f}"
        if "FrEIA" in contenders:
            theirs = statistics.median(times["FrEIA", task]) * 1e3
            line += f"{theirs:>12.3f}{ours / theirs:>11.3f}"
        print(line)


if __name__ == "__main__":
    main()
