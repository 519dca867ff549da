"""Framework overhead: 64 tiny GLOW blocks, where per-block Python dominates, eager and compiled.

64 GLOW coupling blocks (D=4, one linear layer per subnet), batch 16, one thread. Contenders:

* ``loop``: a plain Python loop calling each module and summing the log-dets (no container);
* ``SequenceINN`` / ``GraphINN``: inn's containers, eager;
* ``FrEIA``: FrEIA 0.2's ``SequenceINN`` with the same weights, eager;
* ``compiled``: ``torch.compile(SequenceINN)`` (inductor, one graph per task), and in the
  training step Adam's step compiled too;
* ``compile_blocks``: ``SequenceINN.compile_blocks()`` (inductor, one graph per block class).

Tasks: forward and reverse under ``no_grad``, and a training step (NLL, backward, Adam).
Timings are interleaved over contenders and rounds; medians and ratios to FrEIA are printed
(and, for the containers, to the loop: the framework's own overhead).

Run: ``python benchmarks/overhead.py [--rounds 30] [--no-compile]``
"""

import argparse
import copy
import platform
import statistics

import torch
import torch.nn as nn
from _timing import flow_tasks, time_calls

import inn.framework as Ff
import inn.modules as Fm

N_BLOCKS, DIM, BATCH = 64, 4, 16


def build(framework=Ff, modules=Fm, n_blocks=N_BLOCKS):
    torch.manual_seed(0)
    seq = framework.SequenceINN(DIM)
    for _ in range(n_blocks):
        seq.append(modules.GLOWCouplingBlock, subnet_constructor=nn.Linear)
    return seq


def graph_of(seq):
    nodes = [Ff.InputNode(DIM, name="x")]
    for i, module in enumerate(seq):
        nodes.append(Ff.Node(nodes[-1], module, name=f"block_{i}"))
    nodes.append(Ff.OutputNode(nodes[-1], name="z"))
    return Ff.GraphINN(nodes)


class Loop(nn.Module):
    """The blocks called one after the other in a plain loop: no container at all."""

    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x, rev=False):
        log_jac_det = x.new_zeros(x.shape[0])
        for module in reversed(self.blocks) if rev else self.blocks:
            (x,), block_log_det = module((x,), rev=rev, jac=True)
            log_jac_det = log_jac_det + block_log_det
        return x, log_jac_det


def contenders(compiled=True):
    seq = build()
    nets = {"loop": Loop(list(copy.deepcopy(seq))), "SequenceINN": seq,
            "GraphINN": graph_of(copy.deepcopy(seq))}
    try:
        import FrEIA.framework
        import FrEIA.modules
    except ImportError:
        print("FrEIA not installed: no FrEIA row.")
    else:
        nets["FrEIA"] = build(FrEIA.framework, FrEIA.modules)
        nets["FrEIA"].load_state_dict(seq.state_dict())
    if compiled:
        nets["compiled"] = torch.compile(copy.deepcopy(seq))
        nets["compile_blocks"] = copy.deepcopy(seq).compile_blocks()
    return nets


def main(rounds=30, repeats=20, compiled=True):
    torch.set_num_threads(1)
    nets = contenders(compiled)
    x = torch.randn(BATCH, DIM)
    with torch.no_grad():
        z = nets["SequenceINN"](x)[0]
        for name, net in nets.items():  # same weights, same numbers up to float32 rounding
            error = float((net(x)[0] - z).abs().max() / z.abs().max())
            assert error < 1e-4, f"{name} differs from SequenceINN by {error:.1e}"
    tasks = {name: flow_tasks(net, x, z, compile_step=name == "compiled")
             for name, net in nets.items()}
    results = {}
    for task in ["forward", "reverse", "train step"]:
        for name in nets:  # warm up (and compile)
            time_calls(tasks[name][task], 3)
        samples = {name: [] for name in nets}
        for _ in range(rounds):
            for name in nets:
                samples[name].append(time_calls(tasks[name][task], repeats))
        results[task] = {name: statistics.median(v) for name, v in samples.items()}

    print(f"{N_BLOCKS} GLOW blocks, D={DIM}, batch {BATCH}, 1 thread, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, median of {rounds} x {repeats}")
    base = "FrEIA" if "FrEIA" in nets else "loop"
    print(f"{'task':<12}" + "".join(f"{name + ' [us]':>21}" for name in nets))
    for task, times in results.items():
        print(f"{task:<12}" + "".join(f"{times[name] * 1e6:>21.0f}" for name in nets))
        print(f"{'  / ' + base:<12}" + "".join(f"{times[name] / times[base]:>21.3f}"
                                             for name in nets))
        print(f"{'  / loop':<12}" + "".join(f"{times[name] / times['loop']:>21.3f}"
                                           for name in nets))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no-compile", action="store_true", help="eager contenders only")
    args = parser.parse_args()
    main(args.rounds, args.repeats, not args.no_compile)
