"""Data-parallel training with ``Flow.fit`` under ``torchrun``: nothing but PyTorch's own engine.

Launch it on 2 processes of one machine (CPU and gloo here; on GPUs the backend is NCCL)::

    torchrun --nproc_per_node 2 --master_addr 127.0.0.1 examples/distributed_fit.py

Every rank builds the same flow and the same data. ``Flow.fit`` sees the initialised process
group and trains data-parallel by itself: each rank reads its shard of every epoch through a
``DistributedSampler``, DDP averages the gradients, ActNorm initialises from the statistics of all
ranks' first batches, only rank 0 shows progress and writes the checkpoint (resumed from if it
exists), and every rank ends with identical parameters, which the script checks. Without
``torchrun`` it trains in one process.
"""

import argparse
import math
import os

import torch
import torch.distributed as dist

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.nn import mlp_subnet


def two_moons(n, generator):
    """``n`` points on two interleaved noisy half circles."""
    angle = math.pi * torch.rand(n, generator=generator)
    upper = torch.rand(n, generator=generator) < 0.5
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    return torch.stack([x, y], 1) + 0.05 * torch.randn(n, 2, generator=generator)


def build_flow(blocks=4):
    """ActNorm, then affine couplings with random permutations."""
    torch.manual_seed(0)  # the same initial parameters on every rank (DDP also broadcasts)
    net = Ff.SequenceINN(2)
    net.append(Fm.ActNorm)
    for k in range(blocks):
        net.append(Fm.AllInOneBlock, subnet_constructor=mlp_subnet((64, 64)),
                   permute_soft=False)
        net.append(Fm.PermuteRandom, seed=k)
    return inn.Flow(net)


def ranks_identical(flow):
    """Whether every rank holds rank 0's parameters, bit for bit."""
    mine = torch.cat([p.detach().flatten() for p in flow.parameters()])
    if not dist.is_initialized():
        return True
    reference = mine.clone()
    dist.broadcast(reference, src=0)
    differs = torch.tensor([float(not torch.equal(mine, reference))], device=mine.device)
    dist.all_reduce(differs)
    return differs.item() == 0


def main(epochs=20, samples=4096, batch_size=128, checkpoint=None):
    flow = build_flow()
    data = two_moons(samples, torch.Generator().manual_seed(1))
    device = "cuda" if torch.cuda.is_available() else None  # torchrun: this rank's GPU
    history = flow.fit(data, epochs=epochs, batch_size=batch_size, lr=2e-3, seed=0,
                       device=device, checkpoint=checkpoint, checkpoint_every=10, progress=True)
    identical = ranks_identical(flow)
    if not dist.is_initialized() or dist.get_rank() == 0:
        print(f"final NLL {history['loss'][-1]:.3f} after {len(history['loss'])} epochs; "
              f"ranks identical: {identical}")
    return history, identical


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args()
    distributed = "WORLD_SIZE" in os.environ  # set by torchrun
    if distributed:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    try:
        main(args.epochs, args.samples, args.batch_size, args.checkpoint)
        if distributed:
            dist.barrier()  # no rank tears gloo down while another still talks to it
    finally:
        if distributed:
            dist.destroy_process_group()
