r"""
Training on several processes with torchrun
===========================================

``Flow.fit`` trains data-parallel by itself when it runs under ``torch.distributed``: each
process (a *rank*) reads its own shard of every epoch through a ``DistributedSampler``,
``DistributedDataParallel`` averages the gradients, ``ActNorm`` initialises from the statistics
of all ranks' first batches, and only rank 0 prints and writes checkpoints. Nothing but
PyTorch's own engine is involved, so the usual launcher works: ``torchrun``.

This page writes a training script, launches it on 2 CPU processes that talk over gloo on the
loopback interface (on GPUs the backend would be NCCL, one process per GPU), and loads the
result back into this process.
"""

# %%
# The script
# ----------
# It is an ordinary training script with two additions: it joins the process group that
# ``torchrun`` describes in environment variables, and only rank 0 saves the result. The same
# script without ``torchrun`` trains in one process.

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch

import inn

FAST = os.environ.get("INN_DOCS_FAST", "1") != "0"

TRAIN_SCRIPT = '''
import json, os, sys
import torch
import torch.distributed as dist
import inn
from inn.nn import mlp_subnet

def build_flow():
    torch.manual_seed(0)                       # the same initial weights on every rank
    net = inn.SequenceINN(2)
    for k in range(6):
        net.append(inn.ActNorm)
        net.append(inn.GLOWCouplingBlock, subnet_constructor=mlp_subnet((64, 64)))
        net.append(inn.PermuteRandom, seed=k)
    return inn.Flow(net)

if __name__ == "__main__":
    out, epochs = sys.argv[1], int(sys.argv[2])
    distributed = "WORLD_SIZE" in os.environ   # set by torchrun
    if distributed:
        dist.init_process_group("gloo")        # "nccl" on GPUs
    rank = dist.get_rank() if distributed else 0

    data = inn.datasets.moons(4000, seed=0)    # every rank holds the data; fit shards it
    data = (data - data.mean(0)) / data.std(0)
    flow = build_flow()
    history = flow.fit(data, epochs=epochs, batch_size=128, lr=3e-3, seed=0, progress=False,
                       checkpoint=os.path.join(out, "checkpoint.pt"))

    weights = torch.cat([p.detach().flatten() for p in flow.parameters()])
    gathered = [torch.empty_like(weights) for _ in range(dist.get_world_size())] \\
        if distributed else [weights]
    if distributed:
        dist.all_gather(gathered, weights)
    if rank == 0:
        torch.save(flow.state_dict(), os.path.join(out, "flow.pt"))
        identical = all(torch.equal(w, gathered[0]) for w in gathered)
        with open(os.path.join(out, "history.json"), "w") as f:
            json.dump({"loss": history["loss"], "ranks_identical": identical,
                       "world_size": len(gathered)}, f)
        print(f"rank 0 of {len(gathered)}: final NLL {history['loss'][-1]:.3f}, "
              f"parameters identical on all ranks: {identical}")
    if distributed:
        dist.barrier()                         # no rank tears down while another still works
        dist.destroy_process_group()
'''

# %%
# Launching it
# ------------
# ``torchrun --nproc_per_node 2`` starts two copies of the script with ``RANK``,
# ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set. Here the rendezvous is on 127.0.0.1
# at a free port. From a shell, the same launch reads::
#
#     torchrun --nproc_per_node 2 --master_addr 127.0.0.1 --master_port 29500 train.py out 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


workdir = Path(tempfile.mkdtemp(prefix="inn-torchrun-"))
(workdir / "train.py").write_text(TRAIN_SCRIPT)
epochs = 10 if FAST else 60
command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           str(workdir / "train.py"), str(workdir), str(epochs)]
environment = {**os.environ, "OMP_NUM_THREADS": "1"}
start = time.perf_counter()
result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
if result.returncode != 0:
    raise RuntimeError(f"torchrun failed:\n{result.stdout}\n{result.stderr}")
print(result.stdout.strip())
print(f"(2 processes, {time.perf_counter() - start:.1f} s including start-up)")

# %%
# Using the result
# ----------------
# Rank 0 saved the ``state_dict`` of the plain flow (no ``module.`` prefix from DDP: ``fit``
# wraps a loss module, never the flow itself), so it loads into the same architecture here.
# ``workdir / "checkpoint.pt"`` holds everything needed to resume, and running the same command
# again with more epochs continues from it.

namespace = {}
exec(compile(TRAIN_SCRIPT, "train.py", "exec"), namespace)  # for build_flow; main is skipped
flow = namespace["build_flow"]()
flow.load_state_dict(torch.load(workdir / "flow.pt"))
report = json.loads((workdir / "history.json").read_text())
print(f"world size {report['world_size']}, ranks identical: {report['ranks_identical']}")

data = inn.datasets.moons(4000, seed=0)
data = (data - data.mean(0)) / data.std(0)
with torch.no_grad():
    samples = flow.sample(3000)
    print(f"NLL of the data under the loaded flow: {float(-flow.log_prob(data).mean()):.3f}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
axes[0].plot(report["loss"])
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("training NLL (rank 0's log)")
axes[1].scatter(*samples.T, s=1, alpha=0.5, color="C1")
axes[1].set_title("samples of the flow trained on 2 processes")
axes[1].set_aspect("equal")
fig.tight_layout()

# %%
# What to keep in mind
# --------------------
# * ``batch_size`` is per rank: 2 ranks at 128 make a global batch of 256.
# * Every rank must build the same network (same seeds); DDP also broadcasts rank 0's weights.
# * Print, save and plot on rank 0 only; ``fit`` does so for its own logs and checkpoints.
# * ``fit(device="cuda")`` under ``torchrun`` on GPUs: set ``torch.cuda.set_device(LOCAL_RANK)``
#   first and use the NCCL backend.
