"""sphinx-gallery hook: every tutorial starts from the same torch state."""

import torch


def reset_torch(gallery_conf: dict, fname: str) -> None:
    """Seed torch, restore float32 and one thread (fastest for toy models) before each one."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
