"""Containers reject user log-dets that would broadcast silently against the ``(B,)`` total."""

import pytest
import torch

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.errors import ShapeError


class KeepdimLogDet(Fm.InvertibleModule):
    """Doubles its input but returns a ``(B, 1)`` log-det (``sum(1, keepdim=True)``)."""

    def __init__(self, dims_in, shape_of_log_det=None):
        super().__init__(dims_in)
        self.shape_of_log_det = shape_of_log_det

    def forward(self, x, rev=False, jac=True):
        factor = 0.5 if rev else 2.0
        log_det = torch.log(torch.full_like(x[0], factor)).sum(1, keepdim=True)
        if self.shape_of_log_det is not None:
            log_det = log_det.reshape(-1)[0].expand(self.shape_of_log_det)
        return (x[0] * factor,), log_det

    def output_dims(self, input_dims):
        return input_dims


def sequence(**kwargs):
    seq = Ff.SequenceINN(3)
    seq.append(KeepdimLogDet, **kwargs)
    return seq


def graph(**kwargs):
    x = Ff.InputNode(3, name="x")
    node = Ff.Node(x, KeepdimLogDet, kwargs, name="keepdim")
    return Ff.GraphINN([x, node, Ff.OutputNode(node, name="z")])


@pytest.mark.parametrize("build", [sequence, graph])
@pytest.mark.parametrize("rev", [False, True])
def test_keepdim_log_det_is_rejected_naming_the_block(build, rev):
    with pytest.raises(ShapeError, match=r"(block 0|'keepdim').*\(5, 1\), expected \(5,\)"):
        build()(torch.randn(5, 3), rev=rev)


@pytest.mark.parametrize("build", [sequence, graph])
def test_wrong_batch_log_det_is_rejected(build):
    with pytest.raises(ShapeError, match=r"\(4,\), expected \(5,\)"):
        build(shape_of_log_det=(4,))(torch.randn(5, 3))


def test_flow_log_prob_does_not_become_a_matrix():
    with pytest.raises(ShapeError, match=r"\(6, 1\)"):
        inn.Flow(sequence()).log_prob(torch.randn(6, 3))


@pytest.mark.parametrize("build", [sequence, graph])
def test_jac_false_ignores_the_log_det(build):
    z, _ = build()(torch.randn(5, 3), jac=False)
    assert z.shape == (5, 3)
