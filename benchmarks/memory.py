"""Memory and time of training a multiscale GLOW with ``memory_efficient=True``, against standard
backprop and FrEIA 0.2 on the same architecture, at 8, 16, 32 and 64 coupling blocks.

The network (a ``GraphINN`` in both libraries, identical weights): 3x32x32 images, batch 16,
squeeze (``IRevNetDownsampling``) to 12x16x16, then three levels with half, a quarter and a
quarter of the coupling blocks. Each step is ``ActNorm`` -> ``GLOWCouplingBlock`` (conv subnet
3x3 -> ReLU -> 1x1 -> ReLU -> 3x3, 64 hidden channels, the last one zero-initialised as in
GLOW) -> ``Fixed1x1Conv`` (a random orthogonal
1x1 convolution). After levels 1 and 2, ``Split`` sends half of the channels to an output (the
early exits) and the rest is squeezed again: 12x16x16 -> 24x8x8 -> 48x4x4.

Measured, all in one run:

* ``saved``: bytes of the tensors autograd saves for backward during one forward pass, counted
  with ``torch.autograd.graph.saved_tensors_hooks`` over distinct storages, parameters and
  buffers excluded (the activation memory of standard backprop).
* ``peak RSS``: the peak resident memory of a fresh process that builds the network and runs
  three training steps (NLL, Adam), read from ``/proc/self/status`` (``VmHWM``; not
  ``ru_maxrss``, which Linux inherits from the parent process), and the same minus the
  process's resident memory right before the first step (``train``: what training adds on
  top of torch, the model and the data). One subprocess per configuration,
  so no configuration inherits another's allocator state. On a GPU,
  ``torch.cuda.max_memory_allocated`` instead.
* ``step``: the median time of one training step, the three contenders interleaved in the
  main process so that machine noise hits them alike; the ratio to standard backprop is the
  median of the per-round ratios. ``alone``: the median of five more steps in each
  contender's own subprocess, after the three above. The two differ on CPU because glibc's
  allocator returns freed memory to the system and faults it back in: memory-efficient
  backprop allocates and frees a few MiB per block, which a process running nothing else
  pays for in page faults (see the guide for the ``MALLOC_*`` settings that avoid it).
* ``--drift``: float32 relative gradient error of ``memory_efficient=True`` against standard
  backprop at 64 blocks, at GLOW's initialisation, after ``--train-steps`` Adam steps and with
  randomly initialised subnets, next to float32's own noise floor (standard float32 against
  float64), and the largest relative error of a rebuilt block input.

Run: ``OMP_NUM_THREADS=1 python benchmarks/memory.py --drift --plot memory.png`` (about ten
minutes on one core; ``--depths 8 16 --repeats 3`` for a quick look, ``--device cuda`` on a GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Any

import torch
import torch.nn as nn

import inn

BATCH, SHAPE, HIDDEN = 16, (3, 32, 32), 64
DEPTHS = (8, 16, 32, 64)
CONTENDERS = ("standard", "memory_efficient", "FrEIA")


def subnet(c_in: int, c_out: int, zero_init: bool = True) -> nn.Module:
    """GLOW's subnet; its last convolution starts at zero (each coupling starts as identity)."""
    net = nn.Sequential(nn.Conv2d(c_in, HIDDEN, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(HIDDEN, HIDDEN, 1), nn.ReLU(),
                        nn.Conv2d(HIDDEN, c_out, 3, padding=1))
    if zero_init:
        nn.init.zeros_(net[-1].weight)
        nn.init.zeros_(net[-1].bias)
    return net


def random_subnet(c_in: int, c_out: int) -> nn.Module:
    """The subnet with PyTorch's default initialisation, the last layer scaled by 0.1.

    (Unscaled, 64 random couplings are chaotic: fresh inputs overflow float32.)
    """
    net = subnet(c_in, c_out, zero_init=False)
    with torch.no_grad():
        net[-1].weight.mul_(0.1)
        net[-1].bias.mul_(0.1)
    return net


def levels(depth: int) -> list[int]:
    """Coupling blocks per level: half, a quarter, a quarter."""
    return [depth // 2, depth // 4, depth - depth // 2 - depth // 4]


def build(contender: str, depth: int, constructor: Any = subnet) -> nn.Module:
    """The multiscale GLOW of the module docstring, seeded so every contender gets one net."""
    if contender == "FrEIA":
        import FrEIA.framework as Ff
        import FrEIA.modules as Fm
    else:
        Ff, Fm = inn.framework, inn.modules
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    nodes = [Ff.InputNode(*SHAPE, name="x")]
    nodes.append(Ff.Node(nodes[-1], Fm.IRevNetDownsampling, {}, name="squeeze0"))
    outputs = []
    channels = 4 * SHAPE[0]
    for level, blocks in enumerate(levels(depth)):
        for k in range(blocks):
            nodes.append(Ff.Node(nodes[-1], Fm.ActNorm, {}, name=f"actnorm{level}_{k}"))
            nodes.append(Ff.Node(nodes[-1], Fm.GLOWCouplingBlock,
                                 {"subnet_constructor": constructor, "clamp": 2.0},
                                 name=f"coupling{level}_{k}"))
            rotation, _ = torch.linalg.qr(torch.randn(channels, channels, generator=generator))
            nodes.append(Ff.Node(nodes[-1], Fm.Fixed1x1Conv, {"M": rotation},
                                 name=f"conv1x1_{level}_{k}"))
        if level < 2:
            split = Ff.Node(nodes[-1], Fm.Split, {"n_sections": 2, "dim": 0},
                            name=f"split{level}")
            nodes.append(split)
            outputs.append(Ff.OutputNode(split.out0, name=f"exit{level}"))
            nodes.append(Ff.Node(split.out1, Fm.IRevNetDownsampling, {},
                                 name=f"squeeze{level + 1}"))
            channels = 2 * channels
    outputs.append(Ff.OutputNode(nodes[-1], name="z"))
    if contender == "FrEIA":
        return Ff.GraphINN(nodes + outputs)
    return Ff.GraphINN(nodes + outputs, memory_efficient=contender == "memory_efficient")


def images(batch: int, seed: int = 1) -> torch.Tensor:
    """Smooth random images: low-frequency noise upsampled, plus a little pixel noise."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(batch, SHAPE[0], 4, 4, generator=generator)
    smooth = nn.functional.interpolate(coarse, size=SHAPE[1:], mode="bilinear",
                                       align_corners=False)
    return smooth + 0.1 * torch.randn(batch, *SHAPE, generator=generator)


def nll(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out, log_jac_det = net(x)
    out = out if isinstance(out, (tuple, list)) else (out,)
    squares = sum(0.5 * t.square().flatten(1).sum(1) for t in out)
    return (squares - log_jac_det).mean() / x[0].numel()


INIT_SEED = 99  # the batch that initialises ActNorm
ALONE_STEPS = 9  # timed steps in each contender's own process


def prepared(contender: str, depth: int, device: torch.device, state: dict | None = None,
             constructor: Any = subnet) -> nn.Module:
    """The network on ``device``, ActNorm initialised (or ``state`` loaded)."""
    net = build(contender, depth, constructor).to(device)
    if state is not None:
        net.load_state_dict(state)
    else:
        with torch.no_grad():  # ActNorm's data-dependent initialisation
            net(images(BATCH, seed=INIT_SEED).to(device))
    return net


def saved_bytes(net: nn.Module, x: torch.Tensor) -> int:
    """Bytes of distinct storages saved for backward by one forward pass (parameters excluded)."""
    own = {t.untyped_storage().data_ptr() for t in [*net.parameters(), *net.buffers()]}
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in own:
            storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = net(x)
    del out
    return sum(storages.values())


def memory_status(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in bytes, from /proc (Linux).

    ``VmHWM`` belongs to the process's own address space, unlike ``ru_maxrss``, which Linux
    carries over from the parent across fork and exec.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure_peak(contender: str, depth: int, device: torch.device) -> dict:
    """Build, then three training steps; the peak memory (runs in a fresh subprocess)."""
    try:  # every contender's process imports the same libraries
        import FrEIA.framework  # noqa: F401
    except ImportError:
        pass
    net = prepared(contender, depth, device)
    x = images(BATCH).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    before = memory_status("VmRSS")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        cuda_before = torch.cuda.memory_allocated(device)
    for _ in range(3):
        optimizer.zero_grad()
        nll(net, x).backward()
        optimizer.step()
    result = {"peak_rss": memory_status("VmHWM"), "rss_before": before}
    if device.type == "cuda":
        result["cuda_peak"] = torch.cuda.max_memory_allocated(device) - cuda_before
    times = []
    for _ in range(ALONE_STEPS):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        optimizer.zero_grad()
        nll(net, x).backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    result["step_alone"] = statistics.median(times)
    return result


def peak_in_subprocess(contender: str, depth: int, device: str) -> dict:
    command = [sys.executable, __file__, "--peak-only", contender, str(depth), "--device",
               device]
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          env=dict(os.environ))
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_steps(nets: dict, x: torch.Tensor, repeats: int, device: torch.device,
               ) -> tuple[dict, dict]:
    """Median training-step time per contender, interleaved, and the median per-round ratio
    of each contender's step to the first contender's (standard backprop's)."""
    optimizers = {name: torch.optim.Adam(net.parameters(), lr=1e-5) for name, net in nets.items()}
    times: dict[str, list[float]] = {name: [] for name in nets}

    def step(name: str) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        optimizers[name].zero_grad()
        nll(nets[name], x).backward()
        optimizers[name].step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    for name in nets:
        step(name)  # warm-up
    for _ in range(repeats):
        for name in nets:
            times[name].append(step(name))
    first = times[next(iter(nets))]
    ratios = {name: statistics.median(a / b for a, b in zip(t, first, strict=True))
              for name, t in times.items()}
    return {name: statistics.median(t) for name, t in times.items()}, ratios


def gradient_vector(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    net.zero_grad(set_to_none=True)
    nll(net, x).backward()
    return torch.cat([p.grad.flatten() for p in net.parameters()])


def drift(depth: int, train_steps: int, device: torch.device) -> dict:
    """float32 gradient error of memory_efficient=True against standard backprop.

    Three weight sets: GLOW's initialisation (couplings start as identity; ActNorm and the 1x1
    convolutions do not), the same after ``train_steps`` Adam steps (learning rate 1e-4), and
    random subnets (see :func:`random_subnet`).
    """
    from inn.backprop import check_recomputation

    def relative(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a - b).norm() / b.norm())

    def measure(net: nn.Module, x: torch.Tensor) -> dict:
        net.memory_efficient = False
        standard = gradient_vector(net, x)
        net.memory_efficient = True
        with check_recomputation() as report:
            efficient = gradient_vector(net, x)
        net.memory_efficient = False
        reference = gradient_vector(net.double(), x.double()).float()
        net.float()
        return {
            "memory_efficient_vs_standard": relative(efficient, standard),
            "memory_efficient_vs_float64": relative(efficient, reference),
            "standard_vs_float64": relative(standard, reference),
            "max_input_reconstruction_error": report.max_relative_error,
        }

    results = {}
    net = prepared("standard", depth, device)
    x = images(BATCH, seed=5).to(device)
    results["GLOW init"] = measure(net, x)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    for step in range(train_steps):
        optimizer.zero_grad()
        nll(net, images(BATCH, seed=1000 + step).to(device)).backward()
        optimizer.step()
    results[f"trained ({train_steps} Adam steps)"] = measure(net, x)
    random = prepared("standard", depth, device, constructor=random_subnet)
    results["random subnets"] = measure(random, x)
    return results


def machine() -> str:
    cpu = " ".join(part for part in (platform.machine(), platform.processor()) if part)
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} thread(s), "
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    key = "cuda_peak" if "cuda_peak" in rows[0] else "train_rss"
    panels = [("saved", "saved for backward [MiB]"),
              (key, "peak memory added by training [MiB]")]
    styles = {"standard": "o-", "memory_efficient": "s-", "FrEIA": "^--"}
    for axis, (field, label) in zip(axes, panels):
        for contender in CONTENDERS:
            points = [(r["depth"], r[contender][field] / 2**20) for r in rows if contender in r]
            if points:
                axis.plot(*zip(*points), styles[contender], label=contender)
        axis.set_xlabel("coupling blocks")
        axis.set_ylabel(label)
        axis.set_xscale("log", base=2)
        axis.set_xticks([r["depth"] for r in rows], [str(r["depth"]) for r in rows])
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle("Multiscale GLOW, 3x32x32, batch 16: memory against depth")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=list(DEPTHS))
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per contender")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--drift", action="store_true", help="also measure float32 drift")
    parser.add_argument("--train-steps", type=int, default=40, help="Adam steps for 'trained'")
    parser.add_argument("--plot", help="write the memory-against-depth figure to this PNG")
    parser.add_argument("--json", help="write all figures to this JSON file")
    parser.add_argument("--peak-only", nargs=2, metavar=("CONTENDER", "DEPTH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.peak_only:
        print(json.dumps(measure_peak(args.peak_only[0], int(args.peak_only[1]), device)))
        return
    try:
        import FrEIA  # noqa: F401
        contenders = CONTENDERS
    except ImportError:
        print("FrEIA not installed: measuring inn alone.")
        contenders = CONTENDERS[:2]
    print(machine())
    rows = []
    x = images(BATCH).to(device)
    for depth in args.depths:
        # identical weights: inn loads FrEIA's state dicts (not the other way round)
        first = prepared(contenders[-1], depth, device)
        state = first.state_dict()
        nets = {name: prepared(name, depth, device, state) for name in contenders[:2]}
        nets[contenders[-1]] = first
        row: dict = {"depth": depth}
        for name, net in nets.items():
            row[name] = {"saved": saved_bytes(net, x)}
        steps, ratios = time_steps(nets, x, args.repeats, device)
        del nets
        for name in contenders:
            peak = peak_in_subprocess(name, depth, args.device)
            row[name].update(step=steps[name], step_ratio=ratios[name],
                             step_alone=peak["step_alone"], peak_rss=peak["peak_rss"],
                             train_rss=peak["peak_rss"] - peak["rss_before"])
            if "cuda_peak" in peak:
                row[name]["cuda_peak"] = peak["cuda_peak"]
        rows.append(row)
        print_row(row, contenders)
    print_summary(rows, contenders)
    result: dict = {"machine": machine(), "rows": rows}
    if args.drift:
        result["drift"] = drift(64, args.train_steps, device)
        print("float32 drift at 64 blocks:")
        for stage, figures in result["drift"].items():
            print(f"  {stage}: " + ", ".join(f"{k} {v:.2e}" for k, v in figures.items()))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)
    if args.plot:
        plot(rows, args.plot)


def print_row(row: dict, contenders: tuple) -> None:
    mib = 2**20
    cells = []
    for name in contenders:
        r = row[name]
        memory = f"{r['cuda_peak'] / mib:.0f}" if "cuda_peak" in r else \
            f"{r['peak_rss'] / mib:.0f} ({r['train_rss'] / mib:.0f})"
        cells.append(f"{name}: saved {r['saved'] / mib:.1f} MiB, peak {memory} MiB, "
                     f"step {r['step'] * 1e3:.0f} ms (alone {r['step_alone'] * 1e3:.0f})")
    print(f"depth {row['depth']:>3}: " + " | ".join(cells), flush=True)


def print_summary(rows: list[dict], contenders: tuple) -> None:
    mib = 2**20
    key = "cuda_peak" if "cuda_peak" in rows[0]["standard"] else "train_rss"
    print("\n| blocks | saved MiB: std / mem-eff / FrEIA | peak RSS MiB (training adds) | "
          "step ms: std / mem-eff / FrEIA | mem-eff / std step | alone: std / mem-eff ms | "
          "mem-eff / FrEIA saved, peak |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        saved = " / ".join(f"{row[n]['saved'] / mib:.1f}" for n in contenders)
        peaks = " / ".join(f"{row[n]['peak_rss'] / mib:.0f} ({row[n][key] / mib:.0f})"
                           for n in contenders)
        steps = " / ".join(f"{row[n]['step'] * 1e3:.0f}" for n in contenders)
        ratio = row["memory_efficient"]["step_ratio"]
        alone = " / ".join(f"{row[n]['step_alone'] * 1e3:.0f}"
                           for n in ("standard", "memory_efficient"))
        versus = "n/a"
        if "FrEIA" in contenders:
            versus = (f"{row['memory_efficient']['saved'] / row['FrEIA']['saved']:.3f}, "
                      f"{row['memory_efficient']['peak_rss'] / row['FrEIA']['peak_rss']:.2f} "
                      f"({row['memory_efficient'][key] / row['FrEIA'][key]:.2f})")
        print(f"| {row['depth']} | {saved} | {peaks} | {steps} | {ratio:.2f} | {alone} | "
              f"{versus} |")
    first, last = rows[0]["memory_efficient"]["saved"], rows[-1]["memory_efficient"]["saved"]
    print(f"memory_efficient saved bytes, {rows[-1]['depth']} vs {rows[0]['depth']} blocks: "
          f"{last / first:.2f}x")


if __name__ == "__main__":
    main()
