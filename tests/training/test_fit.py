"""Flow.fit for long runs: exact resume, val_data isolation, accumulation, clipping, schedulers,
per-step callbacks, mixed precision, compile, restore of the best model, errors."""

import copy
import os

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.nn import mlp_subnet
from inn.training import StepInfo


def make_flow(dim=3, dtype=torch.float64, actnorm=True, blocks=2):
    torch.manual_seed(1)
    seq = Ff.SequenceINN(dim)
    if actnorm:
        seq.append(Fm.ActNorm)
    for k in range(blocks):
        seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet(16, zero_init=False))
        seq.append(Fm.PermuteRandom, seed=k)
    return inn.Flow(seq).to(dtype)


def make_data(n=96, dim=3, dtype=torch.float64):
    generator = torch.Generator().manual_seed(2)
    return torch.randn(n, dim, generator=generator, dtype=dtype) * 2 + 1


def params(flow):
    return {k: v.clone() for k, v in flow.state_dict().items()}


def assert_same(a, b, atol=0.0):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0, msg=key)


class Interrupt(Exception):
    pass


def interrupt_at(step):
    def callback(info):
        if info.step == step:
            raise Interrupt
    return callback


@pytest.mark.parametrize(("loader", "stop"), [(False, 11), (True, 11), (False, 6)],
                         ids=["tensor", "shuffling-dataloader", "tensor-at-epoch-end"])
def test_resumed_run_equals_uninterrupted(tmp_path, loader, stop):
    data = make_data()
    if loader:  # a user's loader shuffles from the global RNG: resume must replay it
        data = DataLoader(TensorDataset(data), batch_size=8, shuffle=True)
    kwargs = dict(epochs=3, batch_size=8, progress=False, accumulate=2, clip_grad_norm=5.0,
                  scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 2, gamma=0.9),
                  scheduler_interval="step", val_data=make_data(16), restore_best=True)
    torch.manual_seed(0)
    reference = make_flow()
    torch.manual_seed(0)
    expected = reference.fit(data, **kwargs)
    torch.manual_seed(0)
    flow = make_flow()
    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    with pytest.raises(Interrupt):  # 6 steps per epoch: step 11 is mid-epoch 1 (checkpoint at
        # step 9), step 6 ends epoch 0 (checkpointed before the epoch is closed)
        flow.fit(data, checkpoint=path, checkpoint_every=3, on_step=interrupt_at(stop),
                 **kwargs)
    torch.manual_seed(123)  # resuming restores the RNG states, whatever they are now
    resumed = make_flow()
    seen = []
    history = resumed.fit(data, checkpoint=path, checkpoint_every=3,
                          on_step=lambda info: seen.append(info.step), **kwargs)
    assert seen[0] == (10 if stop == 11 else 7) and seen[-1] == 18
    assert history == expected
    assert_same(params(resumed), params(reference), atol=1e-12)
    # a finished run's checkpoint resumes to the end at once
    again = make_flow()
    assert again.fit(data, checkpoint=path, **kwargs) == expected
    assert_same(params(again), params(reference), atol=1e-12)


def test_checkpoint_holds_optimizer_scheduler_and_rng(tmp_path):
    flow, path = make_flow(), tmp_path / "sub" / "ckpt.pt"
    flow.fit(make_data(), epochs=1, batch_size=32, progress=False, checkpoint=path,
             scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1))
    payload = torch.load(path, weights_only=False)
    assert payload["format"] == inn.training.CHECKPOINT_FORMAT
    assert payload["state"]["epoch"] == 1 and payload["state"]["step"] == 3
    assert payload["optimizer"]["state"] and payload["scheduler"]["last_epoch"] == 1
    assert set(payload["rng"]) == {"torch", "numpy", "python", "cuda"}
    assert not any(key.startswith("module.") for key in payload["model"])
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(inn.ModuleArgumentError, match=r"not a Flow\.fit checkpoint"):
        make_flow().fit(make_data(), checkpoint=tmp_path / "other.pt", progress=False)


@pytest.mark.parametrize("user_loaders", [False, True], ids=["tensors", "dataloaders"])
def test_val_data_never_changes_the_trajectory(user_loaders):
    data, val = make_data(), make_data(40)
    if user_loaders:
        data = DataLoader(TensorDataset(data), batch_size=16, shuffle=True)
        val = DataLoader(TensorDataset(val), batch_size=16)
    runs = []
    for val_data in (None, val):
        torch.manual_seed(0)
        flow = make_flow()
        flow.fit(data, epochs=3, batch_size=16, progress=False, val_data=val_data)
        runs.append(params(flow))
        runs.append(torch.rand(3))  # the global RNG after training, too
    assert_same(runs[0], runs[2])
    assert torch.equal(runs[1], runs[3])


def test_gradient_accumulation_equals_the_large_batch():
    sgd = lambda p: torch.optim.SGD(p, lr=0.05)  # noqa: E731
    small, large = make_flow(), make_flow()
    data = make_data()
    small.log_prob(data), large.log_prob(data)  # ActNorm starts from the same statistics
    h_small = small.fit(data, epochs=2, batch_size=16, accumulate=2, optimizer=sgd, seed=5,
                        progress=False)
    h_large = large.fit(data, epochs=2, batch_size=32, optimizer=sgd, seed=5, progress=False)
    assert_same(params(small), params(large), atol=1e-12)
    assert h_small["loss"] == pytest.approx(h_large["loss"], abs=1e-12)


def test_clipping_bounds_every_update():
    flow = make_flow()
    flow.log_prob(make_data())  # ActNorm's initialisation is no gradient step
    before = torch.cat([p.detach().flatten().clone() for p in flow.parameters()])
    updates = []

    def record(info):
        nonlocal before
        now = torch.cat([p.detach().flatten() for p in flow.parameters()])
        updates.append((now - before).norm().item())
        before = now.clone()

    flow.fit(make_data(), epochs=1, batch_size=16, clip_grad_norm=1e-3, on_step=record,
             optimizer=lambda p: torch.optim.SGD(p, lr=1.0), progress=False)
    assert len(updates) == 6 and max(updates) <= 1e-3 + 1e-12


def test_step_callbacks_schedulers_and_stopping():
    infos = []
    flow = make_flow()
    flow.fit(make_data(64), epochs=2, batch_size=16, accumulate=3, progress=False,
             optimizer=lambda p: torch.optim.SGD(p, lr=0.01),
             scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5),
             scheduler_interval="step", on_step=[infos.append])
    # 4 batches per epoch, windows of 3 and 1 batches: 2 steps per epoch
    assert [(i.epoch, i.step, i.batch) for i in infos] == [(0, 1, 2), (0, 2, 3), (1, 3, 2),
                                                          (1, 4, 3)]
    assert [i.lr for i in infos] == [0.01, 0.005, 0.0025, 0.00125]
    assert all(isinstance(i, StepInfo) and i.loss > 0 for i in infos)
    epoch_lrs = []
    flow.fit(make_data(64), epochs=3, batch_size=32, progress=False,
             optimizer=lambda p: torch.optim.SGD(p, lr=0.01),
             scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5),
             on_step=lambda i: epoch_lrs.append(i.lr))
    assert epoch_lrs == [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]
    stopped = []
    history = flow.fit(make_data(64), epochs=5, batch_size=16, progress=False,
                       on_step=lambda i: stopped.append(i.step) or i.step == 6)
    assert stopped == [1, 2, 3, 4, 5, 6] and len(history["loss"]) == 2
    with pytest.raises(inn.ModuleArgumentError, match="on_step"):
        flow.fit(make_data(), on_step=[1], progress=False)


def test_restore_best_loads_the_best_validation_epoch():
    flow, val = make_flow(), make_data(32)
    history = flow.fit(make_data(), epochs=4, batch_size=16, lr=0.5, val_data=val,
                       restore_best=True, progress=False)  # lr high: the last is not the best
    with torch.no_grad():
        final = -flow.log_prob(val).mean().item()
    assert final == pytest.approx(min(history["val_loss"]), abs=1e-12)
    assert min(history["val_loss"]) < history["val_loss"][-1]
    with pytest.raises(inn.ModuleArgumentError, match="restore_best=True needs val_data"):
        flow.fit(make_data(), restore_best=True, progress=False)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_with_a_float32_loss(precision):
    flow = make_flow(dtype=torch.float32)
    data = make_data(dtype=torch.float32)
    objective = inn.training.step.NegativeLogLikelihood(flow, inn.training.step.autocast_dtype(
        precision))
    loss = objective(data, ())
    assert loss.dtype == torch.float32
    full = -flow.log_prob(data).mean()
    assert abs(loss.item() - full.item()) < 0.05 * abs(full.item())
    history = flow.fit(data, epochs=3, batch_size=16, precision=precision, progress=False,
                       lr=1e-2)
    assert history["loss"][-1] < history["loss"][0]
    assert all(p.dtype == torch.float32 for p in flow.parameters())
    with pytest.raises(inn.ModuleArgumentError, match="precision must be"):
        flow.fit(data, precision="int8", progress=False)


def test_compile_compiles_the_step_and_keeps_the_trajectory():
    graphs = []

    def counting_backend(graph_module, example_inputs):
        graphs.append(graph_module)
        return graph_module.forward

    data = make_data(32)
    sgd = lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)  # noqa: E731
    torch._dynamo.reset()
    eager, compiled = make_flow(actnorm=False, blocks=1), make_flow(actnorm=False, blocks=1)
    eager.fit(data, epochs=1, batch_size=16, seed=3, progress=False, optimizer=sgd)
    compiled.fit(data, epochs=1, batch_size=16, seed=3, progress=False, optimizer=sgd,
                 compile={"backend": counting_backend})
    assert graphs, "torch.compile never produced a graph"
    # SGD: equal to rounding. (Compiled Adam keeps its step count in a float32 tensor where
    # eager uses a Python float, so its bias correction differs by ~3e-8.)
    assert_same(params(compiled), params(eager), atol=1e-12)


@pytest.mark.skipif(os.environ.get("INN_SLOW_TESTS") != "1",
                    reason="inductor takes minutes on 2 cores; INN_SLOW_TESTS=1 runs it")
def test_compile_with_inductor_keeps_the_trajectory():
    data = make_data(32)
    sgd = lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)  # noqa: E731
    torch._dynamo.reset()
    eager, compiled = make_flow(), make_flow()
    eager.fit(data, epochs=2, batch_size=16, seed=3, progress=False, optimizer=sgd)
    compiled.fit(data, epochs=2, batch_size=16, seed=3, progress=False, optimizer=sgd,
                 compile=True)
    assert_same(params(compiled), params(eager), atol=1e-12)


def test_device_argument_and_data_parallel_wrapped_transforms():
    flow = make_flow()
    flow.fit(make_data(), epochs=1, device="cpu", progress=False)
    net = copy.deepcopy(flow.transform)
    wrapped = inn.Flow(nn.DataParallel(net))
    assert wrapped.transform is net
    x = make_data(5)
    torch.testing.assert_close(wrapped.log_prob(x), flow.log_prob(x), atol=0, rtol=0)


def test_fit_argument_errors_are_inn_errors():
    flow = make_flow()
    for kwargs, match in [({"batch_size": 0}, "batch_size must be a positive int, got 0"),
                          ({"batch_size": 2.5}, "batch_size must be a positive int"),
                          ({"epochs": -1}, "epochs must be an int >= 0"),
                          ({"accumulate": 0}, "accumulate must be an int >= 1"),
                          ({"checkpoint_every": 0}, "checkpoint_every must be an int >= 1"),
                          ({"scheduler_interval": "batch"}, "scheduler_interval must be")]:
        with pytest.raises(inn.ModuleArgumentError, match=match):
            flow.fit(make_data(), progress=False, **kwargs)


def test_non_finite_loss_names_epoch_step_and_batch():
    flow = make_flow()
    data = make_data(48)
    data[40] = float("nan")  # batch 2 of epoch 1 holds it when not shuffled
    loader = DataLoader(TensorDataset(data), batch_size=16)
    with pytest.raises(inn.NonFiniteError, match=r"epoch 0, step 3, batch 2") as error:
        flow.fit(loader, epochs=2, progress=False)
    assert isinstance(error.value, FloatingPointError)
    assert isinstance(error.value, inn.InnError)


def test_per_batch_progress_bar(capsys):
    pytest.importorskip("tqdm")
    make_flow().fit(make_data(64), epochs=2, batch_size=16, progress=True)
    err = capsys.readouterr().err
    assert "8/8" in err and "loss" in err
