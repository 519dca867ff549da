"""Checks run inside 2 spawned gloo processes (one group shared by all distributed tests).

Each rank writes what it measured to ``rank{r}.pt``; tests/training/test_distributed.py compares
the ranks with each other and with single-process references built from the same data.
"""

import io
import os
import socket
import time
from contextlib import redirect_stderr
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.nn import mlp_subnet

WORLD = 2
FIT = {"epochs": 2, "batch_size": 8, "seed": 11, "lr": 1e-2, "accumulate": 2}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_group(outdir, timeout=300.0):
    """Spawn the 2 ranks; fail (never hang) after ``timeout`` seconds."""
    context = mp.spawn(worker, args=(WORLD, free_port(), str(outdir)), nprocs=WORLD, join=False)
    deadline = time.monotonic() + timeout
    while not context.join(timeout=1.0):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            raise TimeoutError(f"the distributed checks did not finish in {timeout} s")
    return [torch.load(Path(outdir) / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


# -- models and data shared with the single-process references ------------------------------------

def actnorm_chain():
    torch.manual_seed(0)
    seq = Ff.SequenceINN(3)
    seq.append(Fm.ActNorm)
    seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet(8, zero_init=False))
    seq.append(Fm.PermuteRandom, seed=0)
    seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet(8, zero_init=False))
    return seq.double()


def rank_data(rank, n=16):
    generator = torch.Generator().manual_seed(100 + rank)
    return torch.randn(n, 3, generator=generator, dtype=torch.float64) * (rank + 1) + rank


def global_data():
    generator = torch.Generator().manual_seed(7)
    return torch.randn(64, 3, generator=generator, dtype=torch.float64) * 1.5 + 0.5


def coupling_chain():
    torch.manual_seed(3)
    seq = Ff.SequenceINN(4)
    for k in range(2):
        seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet(8, zero_init=False))
        seq.append(Fm.PermuteRandom, seed=k)
    return seq.double()


def coupling_graph():
    torch.manual_seed(4)
    x = Ff.InputNode(4, name="x")
    a = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet(8, zero_init=False)},
                name="a")
    p = Ff.Node(a, Fm.PermuteRandom, {"seed": 1}, name="p")
    b = Ff.Node(p, Fm.RNVPCouplingBlock, {"subnet_constructor": mlp_subnet(8, zero_init=False)},
                name="b")
    return Ff.GraphINN([x, a, p, b, Ff.OutputNode(b, name="z")]).double()


def nll(net, x):
    z, log_jac_det = net(x)
    return (0.5 * z.square().sum(1) - log_jac_det).mean()


def sgd_step(net, x, lr=0.1):
    loss = nll(net, x)
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= lr * p.grad
    return loss.detach()


# -- the worker ----------------------------------------------------------------------------------

def worker(rank, world, port, outdir):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    torch.set_num_threads(1)
    try:
        result = {}
        result.update(check_actnorm_under_ddp(rank))
        result.update(check_fit(rank, outdir))
        result.update(check_user_distributed_sampler(rank))
        result.update(check_wrapped_flow(rank))
        result.update(check_fsdp2(rank))
        torch.save(result, Path(outdir) / f"rank{rank}.pt")
        dist.barrier()  # no rank tears gloo down while another still talks to it
    finally:
        dist.destroy_process_group()


def check_actnorm_under_ddp(rank):
    """Issue 10's first fault: DDP over ActNorm, different data per rank, 5 Adam steps."""
    seq = actnorm_chain()
    model = DDP(seq)
    data = rank_data(rank)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(5):
        z, log_jac_det = model(data)
        loss = (0.5 * z.square().sum(1) - log_jac_det).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    fresh = Fm.ActNorm([(3,)]).double()
    fresh.initialize(data)
    return {"ddp_state": {k: v.clone() for k, v in seq.state_dict().items()},
            "actnorm_init": (fresh.loc.clone(), fresh.log_scale.clone())}


def check_fit(rank, outdir):
    """Flow.fit under a process group: DDP, sharding, rank-0 output, identical ends."""
    flow = inn.Flow(actnorm_chain()).double()
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        history = flow.fit(global_data(), progress=True, checkpoint=Path(outdir) / "fit.pt",
                           checkpoint_every=2, **FIT)
    after = flow.sample(4)  # log_prob / sample stay on the plain flow
    # interrupted after optimizer step 3 (mid-epoch 1) on every rank, then resumed
    path = Path(outdir) / "resume.pt"
    interrupted = inn.Flow(actnorm_chain()).double()
    try:
        interrupted.fit(global_data(), progress=False, checkpoint=path, checkpoint_every=1,
                        on_step=_stop_at_step_3, **FIT)
    except InterruptedError:
        pass
    resumed = inn.Flow(actnorm_chain()).double()
    resumed.fit(global_data(), progress=False, checkpoint=path, checkpoint_every=1, **FIT)
    return {"fit_state": {k: v.clone() for k, v in flow.state_dict().items()},
            "resumed_state": {k: v.clone() for k, v in resumed.state_dict().items()},
            "fit_history": history, "fit_stderr": stderr.getvalue(),
            "fit_is_plain": type(flow.transform).__name__, "fit_sample_shape": after.shape}


def _stop_at_step_3(info):
    if info.step == 3:
        raise InterruptedError


def check_user_distributed_sampler(rank):
    """Issue 10's second fault: fit on a user's DistributedSampler left the ranks apart."""
    data = TensorDataset(global_data())
    loader = DataLoader(data, batch_size=8, sampler=DistributedSampler(data, seed=2))
    flow = inn.Flow(actnorm_chain()).double()
    flow.fit(loader, epochs=1, progress=False)
    return {"sampler_state": {k: v.clone() for k, v in flow.state_dict().items()}}


def check_wrapped_flow(rank):
    """``inn.Flow(DDP(net))`` used to raise AttributeError: 'output_dims'."""
    net = coupling_chain()
    flow = inn.Flow(DDP(net))
    x = rank_data(rank)[:, :1].repeat(1, 4)
    return {"wrapped_is_net": flow.transform is net,
            "wrapped_error": (flow.log_prob(x) - inn.Flow(net).log_prob(x)).abs().max().item()}


def shard_blocks(net):
    """FSDP2 the recommended way: ``fully_shard`` on every block with parameters, then the root."""
    from torch.distributed.fsdp import fully_shard

    for block in net.module_list:
        if any(True for _ in block.parameters()):
            fully_shard(block)
    fully_shard(net)


def check_fsdp2(rank):
    """``fully_shard`` on every block of a SequenceINN and a GraphINN, then one SGD step."""
    out = {}
    for name, build in (("sequence", coupling_chain), ("graph", coupling_graph)):
        net = build()
        shard_blocks(net)
        data = rank_data(rank)[:, :1].repeat(1, 4) + torch.linspace(0, 1, 4,
                                                                     dtype=torch.float64)
        sgd_step(net, data)
        out[f"fsdp_{name}"] = {k: (v.full_tensor() if hasattr(v, "full_tensor") else v).clone()
                               for k, v in net.state_dict().items()}
        out[f"fsdp_{name}_sharded"] = any(type(p).__name__ == "DTensor"
                                          for p in net.parameters())
    # ActNorm under FSDP2: a lazy initialisation inside the sharded forward would be lost, so it
    # raises; initialised before sharding (a collective over the ranks' data), it is kept.
    seq = actnorm_chain()
    shard_blocks(seq)
    try:
        seq(rank_data(rank))
        out["fsdp_lazy_actnorm_error"] = None
    except inn.ModuleArgumentError as error:
        out["fsdp_lazy_actnorm_error"] = str(error)
    seq = actnorm_chain()
    with torch.no_grad():
        seq(rank_data(rank))
    shard_blocks(seq)
    with torch.no_grad():
        z, _ = seq(rank_data(rank))
    actnorm = seq.module_list[0]
    out["fsdp_actnorm"] = (actnorm.loc.full_tensor().clone(),
                           actnorm.log_scale.full_tensor().clone())
    return out


if __name__ == "__main__":  # run by hand: python tests/training/distributed_checks.py OUTDIR
    import sys

    os.makedirs(sys.argv[1], exist_ok=True)
    print(run_group(sys.argv[1])[0].keys())
