r"""Ready-made flows: one line each, returning an :class:`~inn.Flow` over a plain container.

The network of every preset is an ordinary :class:`~inn.SequenceINN` (vector presets) or
:class:`~inn.GraphINN` (``Glow``): print it, index it, replace or append blocks. Signatures
follow zuko's: ``(features, context=0, transforms=..., hidden_features=(64, 64), ...)``.

Example:
    >>> import inn
    >>> flow = inn.flows.NSF(2, transforms=2)
    >>> flow.log_prob(torch.randn(8, 2)).shape
    torch.Size([8])
"""

from .autoregressive import IAF, MAF, autoregressive_flow
from .builder import alternating_mask, sequence_flow
from .coupling import NICE, RealNVP, coupling_flow
from .glow import Glow, GlowSubnet
from .spline import NCSF, NSF

__all__ = [
           "IAF",
           "MAF",
           "NCSF",
           "NICE",
           "NSF",
           "Glow",
           "GlowSubnet",
           "RealNVP",
           "alternating_mask",
           "autoregressive_flow",
           "coupling_flow",
           "sequence_flow",
]
