"""Progress display of ``Flow.fit``: a per-batch tqdm bar, or per-epoch lines without tqdm."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Progress"]


class Progress:
    """A per-batch bar over the whole run (rank 0 only), with the running loss as postfix.

    Without tqdm (it is in the ``progress`` extra), one line per epoch is printed instead.
    """

    def __init__(self, enabled: bool, epochs: int, batches_per_epoch: int | None,
                 start_epoch: int, start_batch: int) -> None:
        self.enabled, self.epochs = enabled, epochs
        self.bar = None
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        total = None if batches_per_epoch is None else epochs * batches_per_epoch
        done = 0 if batches_per_epoch is None else start_epoch * batches_per_epoch + start_batch
        self.bar = tqdm(total=total, initial=done, desc="fit", unit="batch", leave=True,
                        dynamic_ncols=True)

    def batch(self, epoch: int, loss: float) -> None:
        """Advance by one batch and show the latest step's loss."""
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"epoch {epoch + 1}/{self.epochs}, loss {loss:.4f}",
                                     refresh=False)

    def epoch(self, epoch: int, history: dict[str, list[float]]) -> None:
        """Show the epoch's mean loss (and validation loss)."""
        if not self.enabled:
            return
        text = f"loss {history['loss'][-1]:.4f}"
        if history["val_loss"]:
            text += f", val_loss {history['val_loss'][-1]:.4f}"
        if self.bar is not None:
            self.bar.set_postfix_str(f"epoch {epoch + 1}/{self.epochs}, {text}")
        else:
            width = int(math.log10(max(self.epochs, 1))) + 1
            print(f"epoch {epoch + 1:>{width}}/{self.epochs}: {text}")

    def close(self) -> Any:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()
