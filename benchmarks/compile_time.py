"""Compile time against depth: whole-network ``torch.compile`` and ``compile_blocks``.

For 8 and 64 GLOW blocks (D=16, subnets with one hidden layer of 128 units, batch 512, one
thread), times the first training step (forward, NLL, backward: what compiles) and subtracts
the median of the following steps. Every measurement runs in a fresh Python process with
inductor's on-disk caches off, so nothing is reused between them. Prints the compile times and
the ratio 64 blocks / 8 blocks for each way of compiling.

Run: ``python benchmarks/compile_time.py [--backend inductor]``
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

DEPTHS = (8, 64)
DIMS, HIDDEN, BATCH = 16, 128, 512


def measure(depth, how, backend):
    import torch
    import torch.nn as nn

    import inn.framework as Ff
    import inn.modules as Fm

    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = Ff.SequenceINN(DIMS)
    for _ in range(depth):
        net.append(Fm.GLOWCouplingBlock, subnet_constructor=lambda a, b: nn.Sequential(
            nn.Linear(a, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, b)))
    if how == "whole":
        net = torch.compile(net, backend=backend)
    else:
        net.compile_blocks(backend=backend)
    x = torch.randn(BATCH, DIMS)

    def step():
        z, log_jac_det = net(x)
        (0.5 * z.pow(2).sum(1) - log_jac_det).mean().backward()

    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        step()
        runs.append(time.perf_counter() - start)
    return first - statistics.median(runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="inductor")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(int(args.child[0]), args.child[1], args.backend)))
        return
    env = dict(os.environ, TORCHINDUCTOR_FX_GRAPH_CACHE="0", TORCHINDUCTOR_AUTOGRAD_CACHE="0",
               OMP_NUM_THREADS="1")
    seconds = {}
    for how in ("compile_blocks", "whole"):
        for depth in DEPTHS:
            out = subprocess.run([sys.executable, __file__, "--backend", args.backend,
                                  "--child", str(depth), how], env=env, check=True,
                                 capture_output=True, text=True).stdout
            seconds[how, depth] = json.loads(out.strip().splitlines()[-1])
            print(f"{how:<15}{depth:>4} blocks: {seconds[how, depth]:7.1f} s", flush=True)
    import torch

    print(f"compile time of a training step, GLOW D={DIMS}, hidden {HIDDEN}, batch {BATCH}, "
          f"backend {args.backend}, 1 thread, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}")
    for how in ("compile_blocks", "whole"):
        ratio = seconds[how, DEPTHS[1]] / seconds[how, DEPTHS[0]]
        print(f"{how:<15}" + "".join(f"{seconds[how, d]:>9.1f} s ({d})" for d in DEPTHS)
              + f"   {DEPTHS[1]}/{DEPTHS[0]} blocks: {ratio:.2f}x")


if __name__ == "__main__":
    main()
