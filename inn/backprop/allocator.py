"""Keep glibc from handing a memory-efficient backward's freed memory back to the system.

Memory-efficient backprop allocates and frees a few MiB per block: the rebuilt inputs, one
block's graph, its gradients. On Linux, glibc's ``malloc`` returns freed memory at the top of
its heap to the system once more than its trim threshold is free, and the next block's
allocations fault the same pages back in, zeroed. In a process that trains nothing else, this
cost a GLOW with 64 couplings about 60,000 page faults and 15-20% of its training step on CPU.

glibc raises its thresholds by itself (``mallopt(3)``: freeing a block it had mapped on its own
raises the mapping threshold to that block's size and the trim threshold to twice that), but
only after a process has freed a large block, which standard backprop does and this mode does
not. :func:`retain_freed_memory` frees one 16 MiB block once per process, so glibc keeps up to
32 MiB of freed memory for reuse, as it would after a standard training step. Memory-efficient
backward calls it on CPU tensors. It does nothing on other C libraries, when the process has
set ``MALLOC_*`` tuning itself, or with ``INN_RETAIN_FREED_MEMORY=0``.

Example:
    >>> retain_freed_memory()  # once per process; later calls return at once
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["retain_freed_memory"]

#: The block freed once: glibc then keeps up to twice this much freed memory in its heap.
BLOCK_BYTES = 16 << 20

_DONE = False


def retain_freed_memory() -> None:
    """Raise glibc's trim threshold once per process (see the module docstring)."""
    global _DONE
    if _DONE:
        return
    _DONE = True
    if not _applies():
        return
    libc = ctypes.CDLL(None)
    malloc, free = libc.malloc, libc.free
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    free.restype, free.argtypes = None, [ctypes.c_void_p]
    block = malloc(BLOCK_BYTES)
    if block:
        free(block)


def _applies() -> bool:
    if os.environ.get("INN_RETAIN_FREED_MEMORY", "1") == "0":
        return False
    if platform.system() != "Linux" or not _glibc_version():
        return False
    return not any(name.startswith("MALLOC_") for name in os.environ)


def _glibc_version() -> str:
    """``"glibc 2.36"`` under glibc; empty under other C libraries (musl has no such name)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        return ""
