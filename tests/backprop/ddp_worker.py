"""One rank of the DDP test: trains a memory-efficient INN under DistributedDataParallel.

Run as ``python ddp_worker.py RANK WORLD PORT OUT`` (see test_ddp.py); writes the gradients of
the first step and the parameters after two SGD steps to ``OUT``.
"""

import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import inn.framework as Ff
import inn.modules as Fm


def subnet(c_in, c_out):
    return torch.nn.Sequential(torch.nn.Linear(c_in, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, c_out))


def build(memory_efficient):
    torch.manual_seed(0)
    net = Ff.SequenceINN(6, memory_efficient=memory_efficient)
    for k in range(4):
        net.append(Fm.ActNorm)
        net.append(Fm.GLOWCouplingBlock, subnet_constructor=subnet, cond=0, cond_shape=(2,))
        net.append(Fm.PermuteRandom, seed=k)
    net = net.double()
    with torch.no_grad():
        net(batch(99)[0], c=[batch(99)[1]])  # ActNorm initialisation, same on every rank
    return net


def batch(seed):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(8, 6, generator=generator, dtype=torch.float64),
            torch.randn(8, 2, generator=generator, dtype=torch.float64))


def loss(net, x, c):
    z, log_jac_det = net(x, c=[c])
    return (0.5 * z.square().sum(1) - log_jac_det).mean()


def main():
    rank, world, init_method, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    # initialised before the process group, as in the single-process reference (ActNorm
    # averages its statistics over ranks once torch.distributed is up)
    net = build(memory_efficient=True)
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world)
    try:
        model = DistributedDataParallel(net)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        grads = None
        for step in range(2):
            x, c = batch(10 * step + rank)
            optimizer.zero_grad()
            loss(model, x, c).backward()
            if grads is None:
                grads = [p.grad.clone() for p in model.parameters()]
            optimizer.step()
        torch.save({"grads": grads, "params": [p.detach() for p in model.parameters()]}, out)
        dist.barrier()  # no rank tears gloo down while another still talks to it
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
