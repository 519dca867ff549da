"""Plots for flows (matplotlib, the ``plot`` extra): 2-d densities with samples, image grids.

Graph drawings of networks live in :func:`inn.plotting.draw_graph`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["density_2d", "samples_grid"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("inn.plot needs matplotlib: `pip install inn[plot]`.") from error
    return plt


def _grid(bounds: tuple[float, float, float, float], resolution: int,
          like: Tensor) -> tuple[Tensor, Tensor]:
    x0, x1, y0, y1 = bounds
    xs = torch.linspace(x0, x1, resolution, dtype=like.dtype, device=like.device)
    ys = torch.linspace(y0, y1, resolution, dtype=like.dtype, device=like.device)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    return gx, gy


def density_2d(flow: Any, c: Any = None, *, bounds: tuple[float, float, float, float] = (
        -4.0, 4.0, -4.0, 4.0), resolution: int = 200, samples: int = 500, data: Tensor | None
        = None, ax: Any = None) -> Any:
    r"""Heat map of a 2-d flow's density :math:`p(x)` on a grid, with samples drawn on top.

    Args:
        flow: An :class:`inn.Flow` over 2-d vectors.
        c: One condition per input (each of batch 1): the map and samples are for this
            condition, repeated as needed.
        bounds: ``(x_min, x_max, y_min, y_max)`` of the grid.
        resolution: Grid points per axis.
        samples: Number of samples to scatter (0: none).
        data: Points to scatter as well (e.g. the training data), in another colour.
        ax: A matplotlib axis (default: a new figure).

    Returns:
        The matplotlib axis.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import inn
        >>> ax = density_2d(inn.flows.NSF(2, transforms=1), resolution=20, samples=10)
        >>> ax.get_title()
        'density and 10 samples'
    """
    plt = _pyplot()
    ax = ax if ax is not None else plt.subplots(figsize=(5, 5))[1]
    like = next(iter(flow.parameters()), torch.zeros(()))
    gx, gy = _grid(bounds, resolution, like)
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)

    def repeat(count: int) -> Any:
        if c is None:
            return None
        conds = [c] if isinstance(c, Tensor) else list(c)
        return [t.expand(count, *t.shape[1:]) for t in conds]

    with torch.no_grad():
        density = flow.log_prob(points, repeat(len(points))).exp().reshape(gx.shape)
        ax.imshow(density.cpu().numpy(), origin="lower", extent=bounds, cmap="viridis",
                  aspect="auto")
        if data is not None:
            ax.scatter(*data[:, :2].cpu().T.numpy(), s=2, c="white", alpha=0.5)
        if samples:
            x = flow.sample(samples, repeat(samples))
            ax.scatter(*x.cpu().T.numpy(), s=2, c="red", alpha=0.6)
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_title(f"density and {samples} samples" if samples else "density")
    return ax


def samples_grid(images: Tensor, nrow: int | None = None, *, ax: Any = None,
                 cmap: str = "gray") -> Any:
    """Show a batch of images ``(N, C, H, W)`` (C = 1 or 3) as one grid, scaled to [0, 1].

    Args:
        images: The images; each is min-max scaled on its own.
        nrow: Images per row (default: about the square root of ``N``).
        ax: A matplotlib axis (default: a new figure).
        cmap: Colour map of one-channel images.

    Returns:
        The matplotlib axis.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> ax = samples_grid(torch.rand(6, 1, 8, 8), nrow=3)
        >>> ax.get_images()[0].get_array().shape
        (19, 28)
    """
    plt = _pyplot()
    images = images.detach().cpu()
    n, channels, height, width = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    flat = images.reshape(n, -1)
    low, high = flat.min(1).values, flat.max(1).values
    scaled = (images - low[:, None, None, None]) / (high - low).clamp_min(1e-12)[
        :, None, None, None]
    pad = 1
    canvas = torch.ones(channels, rows * (height + pad) + pad, nrow * (width + pad) + pad)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = pad + r * (height + pad), pad + col * (width + pad)
        canvas[:, top:top + height, left:left + width] = scaled[i]
    ax = ax if ax is not None else plt.subplots(figsize=(nrow, rows))[1]
    picture = canvas[0] if channels == 1 else canvas.permute(1, 2, 0)
    ax.imshow(picture.numpy(), cmap=cmap if channels == 1 else None)
    ax.set_axis_off()
    return ax
