"""Neural-network building blocks for flows: subnet constructors for couplings."""

from .subnets import conv_subnet, mlp_subnet

__all__ = ["conv_subnet", "mlp_subnet"]
