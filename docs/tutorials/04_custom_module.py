r"""
Write your own invertible module and check it
=============================================

A new invertible module subclasses ``inn.modules.InvertibleModule`` and fills in three hooks:
``output_dims`` (shapes out, for building graphs), ``_forward`` and ``_inverse``. The base class
owns the public ``forward``: it checks the number and shapes of the inputs before the hooks run,
so the hooks hold only the maths. This tutorial writes the *sinh-arcsinh* transform, checks it
with ``inn.testing.check_module``, the checks ``inn`` runs on its own modules, shows a subtle
bug being caught, and fits a skewed,
heavy-tailed distribution with it.

.. math::

    z = \sinh\bigl(b \,\operatorname{asinh}(x) - a\bigr), \qquad
    x = \sinh\Bigl(\frac{\operatorname{asinh}(z) + a}{b}\Bigr),

    \log \left|\frac{dz}{dx}\right| = \log b
        + \log \cosh\bigl(b \,\operatorname{asinh}(x) - a\bigr) - \tfrac12 \log(1 + x^2),

with a learned skew :math:`a` and tail weight :math:`b > 0` per feature (Jones & Pewsey, 2009).
"""

# %%
# The module
# ----------
# Inputs and outputs arrive as tuples with one tensor per input; the hooks return a tuple of
# outputs and the log-determinant per sample, shape ``(B,)``. ``_inverse`` returns the
# log-determinant of the inverse, :math:`-J` at the matching point. Parameters are stored as
# :math:`\log b` so that :math:`b` stays positive.

import os

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

import inn
from inn.errors import ModuleCheckError
from inn.modules import InvertibleModule
from inn.nn import mlp_subnet
from inn.testing import check_module

FAST = os.environ.get("INN_DOCS_FAST", "1") != "0"


class SinhArcsinh(InvertibleModule):
    """Elementwise :math:`z = \\sinh(b \\operatorname{asinh}(x) - a)` with learned ``a``, ``b``."""

    def __init__(self, dims_in, dims_c=None):
        super().__init__(dims_in, dims_c)
        features = self.dims_in[0]
        self.skew = nn.Parameter(torch.zeros(features))
        self.log_tail = nn.Parameter(torch.zeros(features))

    def output_dims(self, input_dims):
        return input_dims

    def _forward(self, x, c, jac):
        (x,) = x
        inner = self.log_tail.exp() * torch.asinh(x) - self.skew
        log_det = self.log_tail + log_cosh(inner) - 0.5 * torch.log1p(x**2)
        return (torch.sinh(inner),), log_det.flatten(1).sum(1)

    def _inverse(self, z, c, jac):
        (z,) = z
        inner = torch.asinh(z)
        x = torch.sinh((inner + self.skew) / self.log_tail.exp())
        log_det = self.log_tail + log_cosh(self.log_tail.exp() * torch.asinh(x) - self.skew)
        log_det = log_det - 0.5 * torch.log1p(x**2)
        return (x,), -log_det.flatten(1).sum(1)


def log_cosh(u):
    """:math:`\\log\\cosh u`, stable for large :math:`|u|`."""
    return u.abs() + F.softplus(-2 * u.abs()) - torch.log(torch.tensor(2.0, dtype=u.dtype))


# %%
# Checking it
# -----------
# ``inn.testing.check_module`` holds a module to the contract every built-in module meets, the
# checks of ``inn``'s own test registry, in float64: the inverse undoes the forward pass to
# 1e-9; the log-determinant equals :math:`\log|\det|` of the Jacobian computed by autograd and
# cancels with the reverse one; samples do not leak into each other; the module gives the same
# numbers inside a ``SequenceINN``, a ``GraphINN`` and inverted; gradients reach every
# parameter, the inputs and the conditions; ``state_dict``, batch size 1, float32 and
# ``jac=False`` work. At initialisation this module is the identity and would pass trivially,
# so the parameters move first.

torch.manual_seed(0)
module = SinhArcsinh([(3,)])
with torch.no_grad():
    for parameter in module.parameters():
        parameter.add_(0.3 * torch.randn_like(parameter))
print(check_module(module))

# %%
# A bug the checks catch
# ----------------------
# A plausible mistake: forgetting that :math:`\operatorname{asinh}` has a derivative too. The
# module still inverts perfectly, and a density model built on it would train, silently, to a
# wrong density. ``check_module`` runs every check and reports each failure:


class SinhArcsinhWithoutAsinhTerm(SinhArcsinh):
    def _forward(self, x, c, jac):
        (z,), log_det = super()._forward(x, c, jac)
        return (z,), log_det + 0.5 * torch.log1p(x[0] ** 2).sum(1)

    def _inverse(self, z, c, jac):
        (x,), log_det = super()._inverse(z, c, jac)
        return (x,), log_det - 0.5 * torch.log1p(x**2).sum(1)


buggy = SinhArcsinhWithoutAsinhTerm([(3,)])
buggy.load_state_dict(module.state_dict())
try:
    check_module(buggy)
except ModuleCheckError as error:  # also an AssertionError, for use in tests
    print(error)

# %%
# Using it
# --------
# The module plugs into containers like a built-in one. A skewed, heavy-tailed 2-d distribution
# is hard for a Gaussian base and affine couplings alone; one ``SinhArcsinh`` at the end adjusts
# the tails.

n = 6000
heavy = torch.distributions.StudentT(df=2.5).sample((n, 2))
data = torch.stack([heavy[:, 0] + 0.4 * heavy[:, 1] ** 2 / (1 + heavy[:, 1].abs()),
                    heavy[:, 1]], dim=1)

net = inn.SequenceINN(2)
net.append(SinhArcsinh)
for k in range(4):
    net.append(inn.GLOWCouplingBlock, subnet_constructor=mlp_subnet((64, 64)))
    net.append(inn.PermuteRandom, seed=k)
net.append(SinhArcsinh)
flow = inn.Flow(net)
history = flow.fit(data, epochs=20 if FAST else 100, batch_size=256, lr=2e-3, progress=False)
print(f"NLL {history['loss'][0]:.3f} -> {history['loss'][-1]:.3f}")
print("learned tail weights b:", net[0].log_tail.exp().detach().numpy().round(2))

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
grid = torch.linspace(-12, 12, 400)
with torch.no_grad():
    samples = flow.sample(n)
for ax, k in zip(axes, [0, 1], strict=True):
    ax.hist(data[:, k], bins=grid.numpy(), density=True, alpha=0.5, label="data")
    ax.hist(samples[:, k].clamp(-12, 12), bins=grid.numpy(), density=True, alpha=0.5,
            label="flow samples")
    ax.set_yscale("log")
    ax.set_title(f"feature {k} (log scale: the tails)")
axes[0].legend(loc="upper right")
fig.tight_layout()
