"""Masked autoregressive flows: inn against zuko and nflows, as time ratios in the same run.

Five affine MAF layers on D=8 features with alternating orders (forward, reverse, ...), each
conditioner a MADE with two hidden layers of 64 units, under a standard normal base, batch 1024,
one CPU thread. Three tasks per library: ``log_prob`` (density, one MADE pass per layer) and
``sample`` (D sequential MADE passes per layer) under ``no_grad``, and a training step (NLL,
backward, Adam). The libraries differ in details that this comparison keeps as they are: zuko's
affine transform soft-clips its log-scale, nflows uses ``sigmoid(s + 2)`` as the scale, inn uses
its ``Affine()`` transformer (FrEIA's ATAN clamp). Every library runs in its own code; the
repeats are interleaved so that machine noise hits all alike, and medians are reported with
the ratios inn / peer (below 1: inn is faster). ``inn compiled`` runs the same flow with
``log_prob`` and ``sample`` under ``torch.compile`` (inductor; ``--no-compile`` drops it).
A missing peer is reported, not fatal.

Run: ``python benchmarks/autoregressive.py [--repeats 30]`` (about a minute).
"""

import argparse
import platform
import statistics

import torch
from _timing import time_calls

import inn

LAYERS, DIM, HIDDEN, BATCH = 5, 8, (64, 64), 1024


def build_inn():
    torch.manual_seed(0)
    net = inn.SequenceINN(DIM)
    for k in range(LAYERS):
        net.append(inn.modules.MaskedAutoregressive, hidden_features=HIDDEN,
                   order="forward" if k % 2 == 0 else "reverse", init_identity=False)
    flow = inn.Flow(net)
    return flow.log_prob, flow.sample, flow.parameters


def build_inn_compiled():
    """The flow of ``build_inn`` (same weights), ``log_prob`` and ``sample`` compiled."""
    log_prob, sample, parameters = build_inn()
    return torch.compile(log_prob), torch.compile(sample), parameters


def build_zuko():
    import zuko

    flow = zuko.flows.MAF(DIM, transforms=LAYERS, hidden_features=HIDDEN)
    return (lambda x: flow().log_prob(x)), (lambda n: flow().sample((n,))), flow.parameters


def build_nflows():
    from nflows.distributions import StandardNormal
    from nflows.flows import Flow
    from nflows.transforms import (
        CompositeTransform,
        MaskedAffineAutoregressiveTransform,
        ReversePermutation,
    )

    transforms = []
    for k in range(LAYERS):
        if k:
            transforms.append(ReversePermutation(DIM))
        # one block of hidden -> hidden without residual: two hidden layers of 64, like the others
        transforms.append(MaskedAffineAutoregressiveTransform(
            DIM, HIDDEN[0], num_blocks=len(HIDDEN) - 1, use_residual_blocks=False))
    flow = Flow(CompositeTransform(transforms), StandardNormal([DIM]))
    return flow.log_prob, flow.sample, flow.parameters


def make_tasks(log_prob, sample, parameters, x):
    optimizer = torch.optim.Adam(parameters(), lr=1e-4)

    def density():
        with torch.no_grad():
            log_prob(x)

    def sampling():
        with torch.no_grad():
            sample(BATCH)

    def train_step():
        optimizer.zero_grad()
        loss = -log_prob(x).mean()
        loss.backward()
        optimizer.step()

    return {"log_prob": density, "sample": sampling, "train step": train_step}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="interleaved samples per task")
    parser.add_argument("--inner", type=int, default=3, help="calls per sample")
    parser.add_argument("--no-compile", action="store_true", help="without the compiled row")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(BATCH, DIM, generator=torch.Generator().manual_seed(1))

    tasks = {}
    builders = [("inn", build_inn), ("inn compiled", build_inn_compiled), ("zuko", build_zuko),
                ("nflows", build_nflows)]
    if args.no_compile:
        builders.pop(1)
    for name, build in builders:
        try:
            tasks[name] = make_tasks(*build(), x)
        except ImportError as error:
            print(f"{name} not installed ({error}); skipped.")
    names = list(tasks)
    times = {(name, task): [] for name in names for task in tasks["inn"]}
    for task in tasks["inn"]:
        for name in names:  # warm-up
            time_calls(tasks[name][task], 2)
        for _ in range(args.repeats):
            for name in names:
                times[name, task].append(time_calls(tasks[name][task], args.inner))

    print(f"MAF: {LAYERS} affine layers, D={DIM}, MADE hidden {HIDDEN}, batch {BATCH}, 1 CPU "
          f"thread, median of {args.repeats} x {args.inner} calls, torch {torch.__version__}, "
          f"{platform.machine()}")
    print(f"{'task':<12}" + "".join(f"{name + ' [ms]':>14}" for name in names)
          + "   inn / peer")
    for task in tasks["inn"]:
        medians = {name: statistics.median(times[name, task]) * 1e3 for name in names}
        ratios = ", ".join(f"{mine} / {name} {medians[mine] / medians[name]:.2f}"
                           for mine in names if mine.startswith("inn")
                           for name in names if not name.startswith("inn"))
        print(f"{task:<12}" + "".join(f"{medians[name]:>14.3f}" for name in names)
              + f"   {ratios}")


if __name__ == "__main__":
    main()
