"""DistributedDataParallel over a memory-efficient INN: two CPU processes over gloo on
127.0.0.1. The gradients are all-reduced (they equal standard backprop's average over both
ranks' batches, float64, 1e-10) and both ranks end with identical parameters."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from ddp_worker import batch, build, loss
from helpers import assert_same_gradients

WORLD = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reference(world):
    """Standard backprop, one process: the average of the ranks' gradients, then SGD."""
    net = build(memory_efficient=False)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    grads = None
    for step in range(2):
        optimizer.zero_grad()
        total = sum(loss(net, *batch(10 * step + rank)) for rank in range(world)) / world
        total.backward()
        if grads is None:
            grads = [p.grad.clone() for p in net.parameters()]
        optimizer.step()
    return grads, [p.detach() for p in net.parameters()]


def test_ddp_two_processes_gloo(tmp_path):
    assert dist.is_available() and dist.is_gloo_available()
    worker = Path(__file__).with_name("ddp_worker.py")
    root = str(Path(__file__).parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    init_method = f"tcp://127.0.0.1:{free_port()}"
    outs = [tmp_path / f"rank{rank}.pt" for rank in range(WORLD)]
    processes = [subprocess.Popen([sys.executable, str(worker), str(rank), str(WORLD),
                                   init_method, str(out)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for rank, out in enumerate(outs)]
    try:
        outputs = [process.communicate(timeout=180)[0] for process in processes]
    finally:
        for process in processes:  # a hung rank must not outlive the test
            process.kill()
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output
    results = [torch.load(out) for out in outs]
    grads, params = reference(WORLD)
    for result in results:
        assert_same_gradients(grads, result["grads"])
        assert_same_gradients(params, result["params"])
    for a, b in zip(results[0]["params"], results[1]["params"]):
        assert torch.equal(a, b)
