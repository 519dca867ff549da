"""Neural-network building blocks for flows: subnet constructors for couplings, MADE."""

from .made import MADE
from .subnets import conv_subnet, mlp_subnet

__all__ = ["MADE", "conv_subnet", "mlp_subnet"]
