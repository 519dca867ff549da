r"""Toy 2-d densities (moons, circles, checkerboard, 8 gaussians, spirals) and sklearn's digits.

Every sampler takes ``n`` and a ``seed`` (or a ``torch.Generator``) and draws from a local
generator, never from the global RNG, so ``moons(1000, seed=0)`` is the same tensor everywhere.

Example:
    >>> from inn import datasets
    >>> x = datasets.moons(500, seed=0)
    >>> x.shape, torch.equal(x, datasets.moons(500, seed=0))
    (torch.Size([500, 2]), True)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .errors import ModuleArgumentError

__all__ = ["TOY_DENSITIES", "checkerboard", "circles", "digits", "eight_gaussians", "moons",
           "spirals", "toy"]

Seed = int | torch.Generator | None


def _generator(seed: Seed) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(0 if seed is None else int(seed))


def _check_count(n: int, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ModuleArgumentError(f"{name}: n must be a positive int, got {n!r}.")


def moons(n: int, seed: Seed = 0, noise: float = 0.1) -> Tensor:
    r"""Two interleaved half circles with Gaussian noise, within about :math:`[-3, 3]^2`.

    Example:
        >>> moons(4, seed=1).shape
        torch.Size([4, 2])
    """
    _check_count(n, "moons")
    g = _generator(seed)
    angle = math.pi * torch.rand(n, generator=g)
    upper = torch.rand(n, generator=g) < 0.5
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    points = torch.stack([x - 0.5, y - 0.25], dim=1) * 2
    return points + 2 * noise * torch.randn(n, 2, generator=g)


def circles(n: int, seed: Seed = 0, noise: float = 0.08, factor: float = 0.5) -> Tensor:
    r"""Two concentric circles of radii :math:`2` and :math:`2\cdot` ``factor`` with noise.

    Example:
        >>> circles(4, seed=1).shape
        torch.Size([4, 2])
    """
    _check_count(n, "circles")
    g = _generator(seed)
    angle = 2 * math.pi * torch.rand(n, generator=g)
    radius = torch.where(torch.rand(n, generator=g) < 0.5, 2.0, 2.0 * factor)
    points = radius[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return points + noise * torch.randn(n, 2, generator=g)


def checkerboard(n: int, seed: Seed = 0) -> Tensor:
    r"""Uniform on the dark squares of a 4x4 checkerboard on :math:`[-2, 2]^2` (density 1/8).

    Example:
        >>> x = checkerboard(1000, seed=0)
        >>> bool(((x.floor() + 2).sum(1) % 2 == 0).all())
        True
    """
    _check_count(n, "checkerboard")
    g = _generator(seed)
    x1 = 4 * torch.rand(n, generator=g) - 2
    x2 = torch.rand(n, generator=g) - torch.randint(0, 2, (n,), generator=g) * 2.0
    x2 = x2 + torch.floor(x1) % 2
    return torch.stack([x1, x2], dim=1)


def eight_gaussians(n: int, seed: Seed = 0, radius: float = 2.0, std: float = 0.2) -> Tensor:
    r"""A mixture of 8 isotropic Gaussians (std ``std``) evenly spaced on a circle.

    Example:
        >>> eight_gaussians(4, seed=1).shape
        torch.Size([4, 2])
    """
    _check_count(n, "eight_gaussians")
    g = _generator(seed)
    angle = 2 * math.pi * torch.randint(0, 8, (n,), generator=g) / 8
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return centres + std * torch.randn(n, 2, generator=g)


def spirals(n: int, seed: Seed = 0, noise: float = 0.1) -> Tensor:
    r"""Two interleaved Archimedean spirals with noise, within about :math:`[-3, 3]^2`.

    Example:
        >>> spirals(4, seed=1).shape
        torch.Size([4, 2])
    """
    _check_count(n, "spirals")
    g = _generator(seed)
    t = torch.sqrt(torch.rand(n, generator=g)) * 3 * math.pi
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    points = sign[:, None] * torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 3
    return points + noise * torch.randn(n, 2, generator=g)


TOY_DENSITIES: dict[str, Callable[..., Tensor]] = {
    "moons": moons, "circles": circles, "checkerboard": checkerboard,
    "eight_gaussians": eight_gaussians, "spirals": spirals,
}


def toy(name: str, n: int, seed: Seed = 0) -> Tensor:
    """Draw ``n`` points of the toy density called ``name`` (a key of ``TOY_DENSITIES``).

    Raises:
        ModuleArgumentError: For an unknown name.

    Example:
        >>> toy("spirals", 3, seed=2).shape
        torch.Size([3, 2])
    """
    if name not in TOY_DENSITIES:
        raise ModuleArgumentError(
            f"toy: unknown density {name!r}; choose one of {sorted(TOY_DENSITIES)}.")
    return TOY_DENSITIES[name](n, seed)


def digits(split: str = "train", seed: int = 0, test_fraction: float = 0.2) -> Tensor:
    r"""Sklearn's 8x8 handwritten digits as integer levels in :math:`\{0, \dots, 16\}`.

    Returns a float tensor of shape ``(N, 1, 8, 8)``; a fixed seeded permutation splits it into
    ``"train"`` and ``"test"``. Dequantise with :class:`inn.modules.UniformDequantization`
    (``levels=17``). Needs scikit-learn (``pip install inn[data]``).

    Raises:
        ImportError: Without scikit-learn.
        ModuleArgumentError: For an unknown split.
    """
    if split not in ("train", "test"):
        raise ModuleArgumentError(f"digits: split must be 'train' or 'test', got {split!r}.")
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError("digits needs scikit-learn: `pip install inn[data]`.") from error
    images = torch.as_tensor(load_digits().images, dtype=torch.get_default_dtype())
    order = torch.randperm(len(images), generator=_generator(seed))
    n_test = int(len(images) * test_fraction)
    chosen = order[:n_test] if split == "test" else order[n_test:]
    return images[chosen].unsqueeze(1)
