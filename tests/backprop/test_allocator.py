"""glibc keeps memory-efficient backward's freed memory instead of faulting it back in."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from inn.backprop import allocator

_TRAIN = textwrap.dedent("""
    import resource, torch, torch.nn as nn
    import inn.framework as Ff, inn.modules as Fm

    torch.manual_seed(0)

    def subnet(c_in, c_out):
        return nn.Sequential(nn.Conv2d(c_in, 64, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(64, c_out, 3, padding=1))

    net = Ff.SequenceINN(12, 16, 16, memory_efficient=True)
    for _ in range(4):
        net.append(Fm.GLOWCouplingBlock, subnet_constructor=subnet, clamp=2.0)
    x = torch.randn(16, 12, 16, 16)

    def step():
        z, log_jac_det = net(x)
        (z.square().sum() - log_jac_det.sum()).backward()

    step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 3)
""")


def _faults_per_step(retain: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(INN_RETAIN_FREED_MEMORY=retain, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", _TRAIN], capture_output=True, text=True,
                          env=env, check=True, timeout=300)
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not (sys.platform.startswith("linux") and allocator._glibc_version()),
                    reason="glibc's trim threshold only")
def test_training_steps_stop_faulting_freed_memory_back_in():
    # four conv couplings, batch 16 of 12x16x16: thousands of page faults per step when glibc
    # trims its heap after every block, a few dozen once it keeps the freed memory
    without = _faults_per_step("0")
    with_retained = _faults_per_step("1")
    assert without > 2000, without
    assert with_retained < without / 10, (with_retained, without)


def test_user_malloc_tuning_and_opt_out_are_respected(monkeypatch):
    monkeypatch.delenv("INN_RETAIN_FREED_MEMORY", raising=False)
    for name in [k for k in os.environ if k.startswith("MALLOC_")]:
        monkeypatch.delenv(name)
    expected = sys.platform.startswith("linux") and bool(allocator._glibc_version())
    assert allocator._applies() is expected
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert not allocator._applies()
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("INN_RETAIN_FREED_MEMORY", "0")
    assert not allocator._applies()


def test_runs_once_per_process(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "_DONE", False)
    monkeypatch.setattr(allocator, "_applies", lambda: calls.append(1) or False)
    allocator.retain_freed_memory()
    allocator.retain_freed_memory()
    assert calls == [1]
