"""Speed of a GLOW coupling stack: inn against FrEIA 0.2 in the same run, as time ratios.

Eight ``GLOWCouplingBlock``s in a ``SequenceINN`` (16 features, subnet MLP with one hidden
layer of 128 units, batch 512) on one CPU thread. Times forward, reverse, and one training step
(forward, NLL backward, Adam step) for both libraries with identical weights, interleaving the
repeats so that machine noise hits both alike, and prints the medians and the ratios to FrEIA.

Two reference rows put the ratios in context (``--no-reference`` drops them):

* ``hand-written``: the same GLOW maths as one plain loop of eager PyTorch ops, with no framework,
  no checks and the fewest ops we know (contiguous ``atan``, folded clamp constant, ``addcmul``).
  It computes FrEIA's numbers and is the floor for any eager implementation.
* ``subnets only``: the 16 subnets and Adam alone, with no coupling maths: the part of the time
  that every library shares.

Two compiled rows (``--no-compile`` drops them): ``inn compiled`` is ``torch.compile`` of the
whole ``SequenceINN`` (inductor; the training step's backward is compiled with it, and Adam's
step is compiled too), ``inn compile_blocks`` compiles block by block (regional compilation,
Adam eager).

Run: ``python benchmarks/glow.py`` (about a minute; ``--repeats N`` to change the sample size,
``--device cuda`` to time on a GPU, synchronising around every sample).
"""

import argparse
import statistics
import time

import torch
import torch.nn as nn
from _timing import flow_tasks

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


def make_tasks(net, x, parameters=None, compile_step=False):
    z = net(x)[0].detach()
    return flow_tasks(net, x, z, parameters, compile_step)


def hand_written_glow(net):
    """FrEIA's GLOW maths over ``net``'s subnets as one plain loop: the eager-PyTorch floor."""
    blocks = list(net)
    half = DIMS // 2
    device = next(net.parameters()).device
    # FrEIA's clamp 2 times its ATAN constant, folded into one factor
    factor = torch.tensor(2.0 * 0.636, device=device)

    def forward(x):
        log_jac_det = None
        for block in blocks:
            x1, x2 = x.split_with_sizes((half, half), 1)
            raw, shift = block.subnet2(x2).chunk(2, 1)
            s2 = torch.atan(raw.contiguous()).mul_(factor)
            y1 = torch.addcmul(shift, x1, torch.exp(s2))
            raw, shift = block.subnet1(y1).chunk(2, 1)
            s1 = torch.atan(raw.contiguous()).mul_(factor)
            y2 = torch.addcmul(shift, x2, torch.exp(s1))
            block_log_det = s2.sum(1) + s1.sum(1)
            log_jac_det = block_log_det if log_jac_det is None else log_jac_det + block_log_det
            x = torch.cat((y1, y2), 1)
        return x, log_jac_det

    def reverse(z):
        log_jac_det = None
        for block in reversed(blocks):
            y1, y2 = z.split_with_sizes((half, half), 1)
            raw, shift = block.subnet1(y1).chunk(2, 1)
            minus_s1 = torch.atan(raw.contiguous()).mul_(-factor)
            x2 = (y2 - shift) * torch.exp(minus_s1)
            raw, shift = block.subnet2(x2).chunk(2, 1)
            minus_s2 = torch.atan(raw.contiguous()).mul_(-factor)
            x1 = (y1 - shift) * torch.exp(minus_s2)
            block_log_det = minus_s1.sum(1) + minus_s2.sum(1)
            log_jac_det = block_log_det if log_jac_det is None else log_jac_det + block_log_det
            z = torch.cat((x1, x2), 1)
        return z, log_jac_det

    def run(x, rev=False):
        return reverse(x) if rev else forward(x)

    return run, net.parameters


def subnets_only(net):
    """The 16 subnets chained without coupling maths: the time every library shares."""
    blocks = list(net)
    half = DIMS // 2

    def run(x, rev=False):
        h = x[:, half:]
        for block in reversed(blocks) if rev else blocks:
            for subnet in (block.subnet2, block.subnet1):
                out = subnet(h)
                h = out[:, :half] + out[:, half:]
        return h.repeat(1, 2), h.sum(1)

    return run, net.parameters


def time_once(fn, inner, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / inner


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60, help="interleaved samples per task")
    parser.add_argument("--inner", type=int, default=5, help="calls per sample")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--no-compile", action="store_true",
                        help="without the compiled rows (torch.compile, compile_blocks)")
    parser.add_argument("--no-reference", action="store_true",
                        help="time only inn and FrEIA, without the two reference rows")
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    x = torch.randn(BATCH, DIMS, generator=torch.Generator().manual_seed(1)).to(device)

    contenders = {"inn": build(inn.framework, inn.modules).to(device)}
    try:
        import FrEIA.framework as freia_framework
        import FrEIA.modules as freia_modules
    except ImportError:
        print("FrEIA not installed: timing inn alone.")
    else:
        contenders["FrEIA"] = build(freia_framework, freia_modules).to(device)
        contenders["inn"].load_state_dict(contenders["FrEIA"].state_dict())
        with torch.no_grad():
            z_inn, z_freia = contenders["inn"](x)[0], contenders["FrEIA"](x)[0]
        error = (z_inn - z_freia).abs().max() / z_freia.abs().max()
        print(f"same weights, max |z_inn - z_FrEIA| / max |z_FrEIA| = {float(error):.1e}")

    tasks = {name: make_tasks(net, x) for name, net in contenders.items()}
    if not args.no_compile:
        for name, how in [("inn compiled", "whole"), ("inn compile_blocks", "blocks")]:
            copy = build(inn.framework, inn.modules).to(device)
            copy.load_state_dict(contenders["inn"].state_dict())
            net = torch.compile(copy) if how == "whole" else copy.compile_blocks()
            tasks[name] = make_tasks(net, x, copy.parameters, compile_step=how == "whole")
    if not args.no_reference:
        for name, reference in [("hand-written", hand_written_glow),
                                ("subnets only", subnets_only)]:
            copy = build(inn.framework, inn.modules).to(device)
            copy.load_state_dict(contenders["inn"].state_dict())
            run, parameters = reference(copy)
            tasks[name] = make_tasks(run, x, parameters)
        with torch.no_grad():
            z_hand = hand_written_glow(contenders["inn"])[0](x)[0]
            z_inn = contenders["inn"](x)[0]
        error = (z_hand - z_inn).abs().max() / z_inn.abs().max()
        print(f"hand-written loop, max |z_hand - z_inn| / max |z_inn| = {float(error):.1e}")

    names = list(tasks)
    times = {(name, task): [] for name in names for task in tasks["inn"]}
    for task in tasks["inn"]:
        for name in names:  # warm-up
            time_once(tasks[name][task], 3, device)
        for _ in range(args.repeats):
            for name in names:
                times[name, task].append(time_once(tasks[name][task], args.inner, device))

    where = "1 CPU thread" if device.type == "cpu" else str(device)
    print(f"GLOW stack: {BLOCKS} blocks, D={DIMS}, hidden {HIDDEN}, batch {BATCH}, {where}, "
          f"median of {args.repeats} x {args.inner} calls")
    baseline = "FrEIA" if "FrEIA" in names else "inn"
    print(f"{'task':<12}" + "".join(f"{name + ' [ms]':>19}" for name in names)
          + f"   ratios to {baseline}")
    for task in tasks["inn"]:
        medians = {name: statistics.median(times[name, task]) * 1e3 for name in names}
        ratios = ", ".join(f"{name} {medians[name] / medians[baseline]:.3f}"
                           for name in names if name != baseline)
        print(f"{task:<12}" + "".join(f"{medians[name]:>19.3f}" for name in names)
              + f"   {ratios}")

if __name__ == "__main__":
    main()
