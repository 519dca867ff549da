"""Overhead of ``Flow.fit`` against a hand-written training loop, as time ratios in one run.

The same flow (8 GLOW couplings in a ``SequenceINN``, 16 features, subnets with one hidden layer
of 128 units) trains for one epoch of 32 batches of 512 samples with Adam, three ways:

* ``hand-written``: ``for x in batches: loss = -flow.log_prob(x).mean(); zero_grad; backward;
  step`` plus ``loss.item()`` per step (what any loop that logs or checks its loss pays), over
  pre-made batches: the floor for eager PyTorch.
* ``Flow.fit``: the same through ``fit(progress=False)`` (its own shuffling loader, the
  per-step finite check, the per-step bookkeeping).
* ``Flow.fit + checkpoint``: also writing a checkpoint every 8 steps.

Repeats alternate between the variants so that machine noise hits all alike; medians and the
ratios to the hand-written loop are printed.

Run: ``OMP_NUM_THREADS=1 python benchmarks/fit.py`` (``--repeats N``).
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn

import inn

DIMS, BLOCKS, HIDDEN, BATCH, BATCHES = 16, 8, 128, 512, 32


def subnet(c_in, c_out):
    return nn.Sequential(nn.Linear(c_in, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, c_out))


def build():
    torch.manual_seed(0)
    net = inn.SequenceINN(DIMS)
    for _ in range(BLOCKS):
        net.append(inn.GLOWCouplingBlock, subnet_constructor=subnet)
    return inn.Flow(net)


def hand_written(flow, data):
    optimizer = torch.optim.Adam(flow.parameters(), lr=1e-4)
    batches = list(data.split(BATCH))
    for x in batches:
        loss = -flow.log_prob(x).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()


def with_fit(flow, data, checkpoint=None):
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    flow.fit(data, epochs=1, batch_size=BATCH, lr=1e-4, progress=False,
             checkpoint=checkpoint, checkpoint_every=8 if checkpoint else None)


def main(repeats=5):
    torch.set_num_threads(1)
    data = torch.randn(BATCH * BATCHES, DIMS)
    flow = build()
    folder = tempfile.mkdtemp()
    variants = {
        "hand-written": lambda: hand_written(flow, data),
        "Flow.fit": lambda: with_fit(flow, data),
        "Flow.fit + checkpoint": lambda: with_fit(flow, data, Path(folder) / "run.pt"),
    }
    times = {name: [] for name in variants}
    for run in variants.values():  # warm-up
        run()
    for _ in range(repeats):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["hand-written"])
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{BATCHES} steps of batch {BATCH}, median of {repeats}")
    print(f"{'variant':<24} {'ms/step':>8} {'ratio':>6}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<24} {1e3 * median / BATCHES:>8.2f} {median / floor:>6.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    main(parser.parse_args().repeats)
