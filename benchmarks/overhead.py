"""Framework overhead: GraphINN and SequenceINN against a plain loop over the same modules.

64 tiny GLOW coupling blocks (D=4, one linear layer per subnet), batch 16, one thread. The bare
loop calls each module directly and sums the log-dets; the containers do the same work plus
their own bookkeeping, so ``container time / loop time - 1`` is the framework's overhead. Timings
are interleaved (loop, sequence, graph, loop, ...) and the median over rounds is reported.

Run: ``python benchmarks/overhead.py [--rounds 30] [--grad]``
"""

import argparse
import platform
import statistics
import time

import torch
import torch.nn as nn

import inn.framework as Ff
import inn.modules as Fm

N_BLOCKS, DIM, BATCH = 64, 4, 16


def build():
    torch.manual_seed(0)
    modules = [Fm.GLOWCouplingBlock([(DIM,)], subnet_constructor=nn.Linear)
               for _ in range(N_BLOCKS)]
    seq = Ff.SequenceINN(DIM)
    for module in modules:
        seq.append(module)
    nodes = [Ff.InputNode(DIM, name="x")]
    for i, module in enumerate(modules):
        nodes.append(Ff.Node(nodes[-1], module, name=f"block_{i}"))
    nodes.append(Ff.OutputNode(nodes[-1], name="z"))
    return modules, seq, Ff.GraphINN(nodes)


def bare_loop(modules, x, rev):
    log_jac_det = x.new_zeros(x.shape[0])
    for module in reversed(modules) if rev else modules:
        (x,), block_log_det = module((x,), rev=rev, jac=True)
        log_jac_det = log_jac_det + block_log_det
    return x, log_jac_det


def time_calls(fn, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main(rounds=30, repeats=20, grad=False):
    torch.set_num_threads(1)
    modules, seq, graph = build()
    x = torch.randn(BATCH, DIM)
    z, _ = seq(x)
    for a, b in zip([seq(x)[0], graph(x)[0]], [bare_loop(modules, x, False)[0]] * 2):
        assert torch.equal(a, b)
    results = {}
    context = torch.enable_grad if grad else torch.no_grad
    with context():
        for direction, inputs, rev in [("forward", x, False), ("reverse", z, True)]:
            candidates = {
                "loop": lambda inputs=inputs, rev=rev: bare_loop(modules, inputs, rev),
                "SequenceINN": lambda inputs=inputs, rev=rev: seq(inputs, rev=rev),
                "GraphINN": lambda inputs=inputs, rev=rev: graph(inputs, rev=rev),
            }
            for fn in candidates.values():
                time_calls(fn, repeats)  # warm up
            samples = {name: [] for name in candidates}
            for _ in range(rounds):
                for name, fn in candidates.items():
                    samples[name].append(time_calls(fn, repeats))
            results[direction] = {name: statistics.median(v) for name, v in samples.items()}

    mode = "with autograd" if grad else "under no_grad"
    print(f"Framework overhead, {N_BLOCKS} GLOW blocks, D={DIM}, batch {BATCH}, {mode}, "
          f"1 thread, torch {torch.__version__}, {platform.processor() or platform.machine()}")
    print(f"{'direction':<10}{'loop (us)':>12}{'Sequence (us)':>15}{'ratio':>8}"
          f"{'Graph (us)':>13}{'ratio':>8}")
    for direction, times in results.items():
        loop = times["loop"]
        print(f"{direction:<10}{loop * 1e6:>12.0f}{times['SequenceINN'] * 1e6:>15.0f}"
              f"{times['SequenceINN'] / loop:>8.3f}{times['GraphINN'] * 1e6:>13.0f}"
              f"{times['GraphINN'] / loop:>8.3f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="GraphINN / SequenceINN overhead benchmark")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--grad", action="store_true", help="time with autograd enabled")
    args = parser.parse_args()
    main(args.rounds, args.repeats, args.grad)
