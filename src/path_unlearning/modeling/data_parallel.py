"""A process's share of a data-parallel run: its rank, its slices of a batch, and reductions.

Every rank draws the same seeded global batches as a single process would and
keeps only its contiguous slice of each, so the data order never depends on the
number of processes. With one process every method is the identity (or a plain
sum), so the training and unlearning loops run the same code for 1..N processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from accelerate import Accelerator

T = TypeVar("T")


def rank_slice(n: int, rank: int, world_size: int) -> slice:
    """Contiguous slice of ``n`` items owned by ``rank``; the first ``n % world_size`` get one more.

    Concatenating the slices in rank order gives back the whole batch, in order.
    """
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (1 if rank < extra else 0))


class DataParallel:
    """This process's view of a data-parallel run: its rank, its slices, and reductions.

    With one process every method is the identity (or a plain sum).
    """

    def __init__(self, accelerator: Accelerator) -> None:
        self.accelerator = accelerator
        self.rank = accelerator.process_index
        self.world_size = accelerator.num_processes

    def local(self, items: Sequence[T]) -> tuple[list[T], float]:
        """This rank's slice of a global batch and its weight.

        A rank whose slice is empty (a global batch smaller than the number of
        ranks) gets the batch's first item with weight 0: it still runs a forward
        and backward, so it joins DDP's gradient all-reduce, but adds nothing.
        """
        part = list(items[rank_slice(len(items), self.rank, self.world_size)])
        return (part, 1.0) if part else (list(items[:1]), 0.0)

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        """Sum of ``value`` over ranks (a copy; identical on every rank)."""
        if self.world_size == 1:
            return value.clone()
        return self.accelerator.reduce(value.clone(), reduction="sum")

    def gather(self, local: torch.Tensor, total: int) -> torch.Tensor:
        """Every rank's slice of a batch of ``total`` rows, concatenated in batch order.

        ``local`` is this rank's rows (padding rows of a weight-0 slice are dropped).
        """
        if self.world_size == 1:
            return local
        sizes = [
            len(range(total)[rank_slice(total, r, self.world_size)]) for r in range(self.world_size)
        ]
        width = max(sizes)
        own = local[: sizes[self.rank]].detach()
        padded = torch.zeros((width, *own.shape[1:]), dtype=own.dtype, device=own.device)
        padded[: own.shape[0]] = own
        rows = self.accelerator.gather(padded)  # [world_size * width, ...]
        return torch.cat([rows[r * width : r * width + sizes[r]] for r in range(self.world_size)])

    def backward_global(
        self,
        loss_of: Callable[..., torch.Tensor],
        values: Sequence[tuple[torch.Tensor, int] | None],
    ) -> torch.Tensor:
        """Compute the global batch's loss and backpropagate this rank's share of it.

        ``loss_of`` takes the gathered per-example values (``None`` stays
        ``None``) and returns the loss one process would compute on the whole
        batch. Every rank gathers the values of all slices without gradient,
        evaluates that loss and its gradient ``g`` with respect to the values,
        and backpropagates the surrogate ``world_size * sum_i g_i * value_i``
        over its own slice: DDP's average over ranks then equals the gradient of
        the global loss, for any loss of per-example values (GA, NPO, SimNPO,
        GradDiff) and any split. Nothing is backpropagated if the loss is not
        finite (identically on every rank, so no rank waits in an all-reduce).

        Args:
            loss_of: Loss of the gathered values.
            values: Per tensor, this rank's differentiable values and the global
                batch size, or ``None``. A placeholder slice (see :meth:`local`)
                owns no rows, so it adds a zero to the surrogate.

        Returns:
            The global loss (detached), identical on every rank.
        """
        leaves = [
            None if v is None else self.gather(v[0], v[1]).clone().requires_grad_(True)
            for v in values
        ]
        loss = loss_of(*leaves)
        if not torch.isfinite(loss):
            return loss.detach()
        wanted = [leaf for leaf in leaves if leaf is not None]
        grads = iter(torch.autograd.grad(loss, wanted, allow_unused=True))
        surrogate = torch.zeros((), device=loss.device)
        for value, leaf in zip(values, leaves, strict=True):
            if value is None or leaf is None:
                continue
            grad = next(grads)
            local, total = value
            mine = grad[rank_slice(total, self.rank, self.world_size)] if grad is not None else None
            if mine is None or mine.numel() == 0:
                surrogate = surrogate + 0.0 * local.sum()  # keeps the rank in the all-reduce
            else:
                surrogate = surrogate + (mine.detach() * local).sum()
        self.accelerator.backward(surrogate * self.world_size)
        return loss.detach()
