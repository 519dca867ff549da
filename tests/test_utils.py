"""inn.utils: reductions, device moves and tuple-free calls, as FrEIA's utils (minus its bugs)."""

import pytest
import torch
from cases import mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn import utils


def test_reductions():
    x = torch.arange(24.0).reshape(2, 3, 4)
    torch.testing.assert_close(utils.sum_except_batch(x), x.sum(dim=(1, 2)))
    torch.testing.assert_close(utils.sum_except(x, 1), x.sum(dim=(0, 2)))
    torch.testing.assert_close(utils.f_except(torch.mean, x, 0, 2), x.mean(dim=1))
    with pytest.raises(inn.ModuleArgumentError, match="no dimension is left"):
        utils.f_except(torch.sum, x, 0, 1, 2)


def test_force_to_moves_nested_tensors_in_place():
    data = {"a": [torch.zeros(2)], "b": (torch.ones(1), 3), "c": "text"}
    out = utils.force_to(data, torch.float64)
    assert out is data and data["a"][0].dtype == torch.float64
    assert data["b"][0].dtype == torch.float64 and data["b"][1] == 3
    loop = []
    loop.append(loop)
    with pytest.raises(inn.ModuleArgumentError, match="self-referential"):
        utils.force_to(loop, torch.float64)


def test_tuple_free_forward_and_batches():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet)
    block = Fm.GLOWCouplingBlock([(4,)], subnet_constructor=mlp_subnet)
    x = torch.randn(10, 4)
    for module in (seq, block):
        out, log_jac_det = utils.tuple_free_forward(module, x)
        assert isinstance(out, torch.Tensor) and out.shape == (10, 4)
        batched, batched_ld = utils.tuple_free_batch_forward(module, x, batch_size=3)
        torch.testing.assert_close(batched, out)
        torch.testing.assert_close(batched_ld, log_jac_det)
    assert utils.output_dims_compatible(seq) == [(4,)]
    assert utils.output_dims_compatible(block) == [(4,)]


def test_batch_forward_none_log_det_and_loader_kwargs():
    class NoneLogDet(Fm.InvertibleModule):
        def forward(self, x, rev=False, jac=True):
            return (x[0] + 1,), None

        def output_dims(self, input_dims):
            return input_dims

    out, log_jac_det = utils.tuple_free_batch_forward(NoneLogDet([(2,)]), torch.zeros(5, 2), 2,
                                                       loader_kwargs={"shuffle": False})
    assert log_jac_det is None and torch.equal(out, torch.ones(5, 2))


def test_normalize_dims_and_format_shape():
    assert utils.normalize_dims([torch.Size([3, 2]), [4], (torch.tensor(5),)]) == [
        (3, 2), (4,), (5,)]
    with pytest.raises(TypeError, match=r"2\.5"):
        utils.normalize_dims([(2.5,)])
    assert utils.format_shape((3, 4)) == "(B, 3, 4)"
