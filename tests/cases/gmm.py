"""Registry entries of ``GaussianMixtureModel`` with fixed component indices.

The generic contract feeds every condition as a float tensor that must receive a gradient. The
GMM's index condition is an integer tensor (no gradient, no float32 cast) and its weights ``w``
only matter for seeded picks, so the registry runs the GMM through a thin adapter: its
conditions are ``[mu, U]``, and it derives the weights (uniform) and a per-sample component
index (the component with the largest first log-diagonal entry of ``U``, a deterministic
function of each sample's own condition) before calling the real module. The all-components and
seed modes are tested semantically in tests/modules/test_gmm.py.
"""

import torch

import inn.modules as Fm
from inn.modules import InvertibleModule

from .case import Case


class FixedComponentGMM(InvertibleModule):
    """``GaussianMixtureModel`` with ``w`` and the index ``i`` derived from ``[mu, U]``."""

    def __init__(self, dims_in, dims_c=None, n_components=3):
        dims = dims_in[0][0]
        entries = dims * (dims + 1) // 2
        super().__init__(dims_in, [(n_components, dims), (n_components, entries)])
        self.gmm = Fm.GaussianMixtureModel(
            dims_in, [(n_components,), (n_components, dims), (n_components, entries), (0,)])

    def _conditions(self, c):
        mu, entries = c
        w = mu.new_full(mu.shape[:2], 1.0 / mu.shape[1])
        index = torch.argmax(entries[:, :, 0], dim=1)
        return [w, mu, entries, index]

    def _forward(self, x, c, jac):
        return self.gmm(list(x), c=self._conditions(c), jac=jac)

    def _inverse(self, z, c, jac):
        return self.gmm(list(z), c=self._conditions(c), rev=True, jac=jac)

    def output_dims(self, input_dims):
        return [tuple(input_dims[0])]


CASES = {
    "gmm_fixed_component": Case(lambda: FixedComponentGMM([(3,)]), perturb=None),
    "gmm_fixed_component_one_dim": Case(lambda: FixedComponentGMM([(1,)], n_components=2),
                                        perturb=None),
}
