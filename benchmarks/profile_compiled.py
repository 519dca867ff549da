"""Where compiled time goes: a torch.profiler summary of the compiled benchmark tasks.

Profiles, on one thread, the compiled (inductor) RQ-spline flow of ``spline.py`` forward and
inverse, the compiled MAF ``log_prob`` of ``autoregressive.py`` and the compiled training step
of ``overhead.py``, and prints the operators that take the most self CPU time. It shows what
bounds a compiled run: the subnets' matrix products (``addmm``/``mm``), inductor's generated
kernels (``cpp_fused_*`` / ``graph_*`` frames) or the Python and autograd around them.

Run: ``python benchmarks/profile_compiled.py [--rows 12]``
"""

import argparse
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).parent))

import autoregressive
import overhead
import spline
from _timing import flow_tasks


def tasks():
    flow = torch.compile(spline.build_inn(1))
    x = torch.randn(spline.BATCH, spline.DIM)
    with torch.no_grad():
        z = flow(x)[0]
    log_prob, _, _ = autoregressive.build_inn()
    log_prob = torch.compile(log_prob)
    x_maf = torch.randn(autoregressive.BATCH, autoregressive.DIM)
    train_step = flow_tasks(torch.compile(overhead.build()), torch.randn(16, 4),
                            None, compile_step=True)["train step"]
    return {
        "spline forward": lambda: flow(x),
        "spline inverse": lambda: flow(z, rev=True),
        "MAF log_prob": lambda: log_prob(x_maf),
        "overhead train step": train_step,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=12)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, task in tasks().items():
        grad = name.endswith("train step")
        with torch.set_grad_enabled(grad):
            for _ in range(3):  # compile and warm up
                task()
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(args.calls):
                    task()
        print(f"== {name} (compiled, {args.calls} calls, 1 thread, torch {torch.__version__})")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
