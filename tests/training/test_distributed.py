"""2 CPU processes over gloo on 127.0.0.1: ActNorm agreement under DDP, Flow.fit parity with a
single process on the same global batches, rank-0 output, Flow(DDP(net)), FSDP2 on blocks, and the
torchrun example. One spawned group serves every check (see distributed_checks.py)."""

import os
import subprocess
import sys
from pathlib import Path

import distributed_checks as checks
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import inn

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="torch.distributed is not available")


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return checks.run_group(tmp_path_factory.mktemp("ranks"))


def max_error(a, b):
    return max((a[k].double() - b[k].double()).abs().max().item()
               for k in a if a[k].is_floating_point())


def assert_identical(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_actnorm_ranks_agree_after_ddp_training(ranks):
    assert_identical(ranks[0]["ddp_state"], ranks[1]["ddp_state"])
    union = torch.cat([checks.rank_data(0), checks.rank_data(1)])
    loc, log_scale = ranks[0]["actnorm_init"]
    torch.testing.assert_close(loc, union.mean(0, keepdim=True), atol=1e-12, rtol=0)
    torch.testing.assert_close(log_scale, union.std(0, keepdim=True).log(), atol=1e-12, rtol=0)
    assert torch.equal(ranks[1]["actnorm_init"][0], loc)


class GlobalBatches:
    """The global batches of the distributed run: every rank's local batch, concatenated."""

    def __init__(self, dataset, batch_size, seed):
        self.samplers = [DistributedSampler(dataset, num_replicas=checks.WORLD, rank=r,
                                            seed=seed) for r in range(checks.WORLD)]
        self.batch_size, self.epoch = batch_size, 0

    def __iter__(self):
        for sampler in self.samplers:
            sampler.set_epoch(self.epoch)
        orders = [list(sampler) for sampler in self.samplers]
        self.epoch += 1
        for start in range(0, len(orders[0]), self.batch_size):
            yield [i for order in orders for i in order[start:start + self.batch_size]]

    def __len__(self):
        return -(-len(self.samplers[0]) // self.batch_size)


def test_fit_on_two_ranks_equals_one_process_on_the_global_batches(ranks):
    assert_identical(ranks[0]["fit_state"], ranks[1]["fit_state"])
    dataset = TensorDataset(checks.global_data())
    loader = DataLoader(dataset, batch_sampler=GlobalBatches(dataset, FIT["batch_size"],
                                                             FIT["seed"]))
    reference = inn.Flow(checks.actnorm_chain()).double()
    history = reference.fit(loader, epochs=FIT["epochs"], lr=FIT["lr"],
                            accumulate=FIT["accumulate"], progress=False)
    error = max_error(ranks[0]["fit_state"], reference.state_dict())
    print(f"DDP fit parity, float64, max |param difference|: {error:.1e}")
    assert error < 1e-6
    assert ranks[0]["fit_history"]["loss"] == pytest.approx(history["loss"], abs=1e-9)
    assert not any(key.startswith("module.") for key in ranks[0]["fit_state"])


FIT = checks.FIT


def test_fit_resumed_on_two_ranks_equals_the_uninterrupted_run(ranks):
    assert_identical(ranks[0]["resumed_state"], ranks[1]["resumed_state"])
    error = max_error(ranks[0]["resumed_state"], ranks[0]["fit_state"])
    print(f"DDP resume, float64, max |param difference|: {error:.1e}")
    assert error <= 1e-12


def test_fit_logs_and_checkpoints_on_rank_zero_only(ranks, tmp_path):
    assert "fit" in ranks[0]["fit_stderr"] and ranks[1]["fit_stderr"] == ""
    assert ranks[0]["fit_is_plain"] == "SequenceINN"
    assert ranks[0]["fit_sample_shape"] == (4, 3)


def test_fit_on_a_user_distributed_sampler_keeps_ranks_identical(ranks):
    assert_identical(ranks[0]["sampler_state"], ranks[1]["sampler_state"])


def test_flow_accepts_a_ddp_wrapped_transform(ranks):
    assert ranks[0]["wrapped_is_net"] and ranks[1]["wrapped_is_net"]
    assert ranks[0]["wrapped_error"] == 0.0


@pytest.mark.parametrize("kind", ["sequence", "graph"])
def test_fsdp2_fully_shard_on_blocks_matches_one_process(ranks, kind):
    assert ranks[0][f"fsdp_{kind}_sharded"]
    net = checks.coupling_chain() if kind == "sequence" else checks.coupling_graph()
    union = torch.cat([checks.rank_data(r)[:, :1].repeat(1, 4)
                       + torch.linspace(0, 1, 4, dtype=torch.float64) for r in range(2)])
    checks.sgd_step(net, union)
    for rank in ranks:
        error = max_error(rank[f"fsdp_{kind}"], net.state_dict())
        print(f"FSDP2 {kind}, float64, max |param difference|: {error:.1e}")
        assert error < 1e-12


def test_actnorm_under_fsdp2_initialises_before_sharding_or_raises(ranks):
    for rank in ranks:
        assert "before sharding" in rank["fsdp_lazy_actnorm_error"]
    loc0, log_scale0 = ranks[0]["fsdp_actnorm"]
    loc1, log_scale1 = ranks[1]["fsdp_actnorm"]
    assert torch.equal(loc0, loc1) and torch.equal(log_scale0, log_scale1)
    union = torch.cat([checks.rank_data(0), checks.rank_data(1)])
    torch.testing.assert_close(loc0, union.mean(0, keepdim=True), atol=1e-12, rtol=0)
    torch.testing.assert_close(log_scale0, union.std(0, keepdim=True).log(), atol=1e-12, rtol=0)


def test_distributed_fit_example_runs_under_torchrun(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(checks.free_port()),
               str(ROOT / "examples" / "distributed_fit.py"), "--epochs", "2",
               "--samples", "256", "--checkpoint", str(tmp_path / "run.pt")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ranks identical: True" in done.stdout
    assert done.stdout.count("final NLL") == 1  # printed by rank 0 only
    payload = torch.load(tmp_path / "run.pt", weights_only=False)
    assert payload["state"]["epoch"] == 2
