"""Random streams of a trial and the minibatches each model sees.

Each trial has two independent streams seeded from blake2b(seed, stream name): `init` draws
the initial parameters from the trial's seed, `data` the minibatch order from its order seed
(the seed itself when the spec has no order_seeds; issue 16). The same seed under two initializers thus
sees the same minibatches, and adding an initializer never changes another's results.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import torch

from sweepd.engine.workspace import Workspace


def stream_seed(seed: int, stream: str) -> int:
    """A 64-bit seed for `stream` ("init" or "data") of the trial seeded with `seed`."""
    digest = hashlib.blake2b(f"sweepd:{seed}:{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def make_generator(seed: int, stream: str) -> torch.Generator:
    """A fresh CPU generator for one stream of one trial."""
    generator = torch.Generator(device="cpu")
    generator.manual_seed(stream_seed(seed, stream))
    return generator


class FullBatch:
    """Full-batch training: every step sees the whole training set, in a fixed order."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def batch(self, step: int) -> Workspace:
        return self.ws


class MiniBatches:
    """Per-model shuffled minibatches: a new permutation from each model's data stream per epoch.

    An epoch is ceil(n / batch_size) steps; the last batch of an epoch may be smaller (as
    PyTorch's DataLoader without drop_last). All models share the batch sizes, so they step
    together; their examples differ.
    """

    def __init__(self, x: torch.Tensor, target: torch.Tensor, batch_size: int,  # (·, n)
                 generators: list[torch.Generator],
                 make_ws: Callable[[int], Workspace]) -> None:
        self.x, self.target = x, target
        self.n = x.shape[1]
        self.batch_size = batch_size
        self.per_epoch = math.ceil(self.n / batch_size)
        self.generators = generators
        self.make_ws = make_ws
        self.workspaces: dict[int, Workspace] = {}
        self.order = torch.empty(len(generators), self.n, dtype=torch.int64)
        self.epoch = -1

    def batch(self, step: int) -> Workspace:
        epoch, j = divmod(step, self.per_epoch)
        if epoch != self.epoch:
            self._shuffle(epoch)
        start = j * self.batch_size
        rows = min(self.batch_size, self.n - start)
        index = self.order_device[:, start:start + rows]
        ws = self.workspaces.get(rows) or self.workspaces.setdefault(rows, self.make_ws(rows))
        ws.x.copy_(self.x[:, index].transpose(0, 1))
        ws.target.copy_(self.target[:, index].transpose(0, 1))
        return ws

    def _shuffle(self, epoch: int) -> None:
        for row, generator in zip(self.order, self.generators):
            torch.randperm(self.n, generator=generator, out=row)
        self.order_device = self.order.to(self.x.device)
        self.epoch = epoch
