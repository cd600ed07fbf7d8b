"""Uploaded data sets to the workers, through Ray's object store (issue 17).

Workers hold no database credentials, so the driver (the dispatcher, or a replay) reads a data
set's canonical bytes from the store, decodes them and `ray.put`s the arrays once; every batch
that trains on it carries the reference, nested in a list so Ray does not resolve it before
the task asks. A worker fetches it only when its process does not already hold it
(`sweepd.uploaded.register`); the node's object store keeps one copy for all its workers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import ray

from sweepd import uploaded
from sweepd.spec import UPLOADED, TrialSpec

Shipment = dict[str, list[Any]]  # sha256 -> [ObjectRef of (x, y)]
KEEP = 8  # data sets whose object the driver keeps referenced (and so alive)


class DatasetShipper:
    """Puts each uploaded data set into the object store once, and hands out its reference.

    Args:
        read_blob: `store.dataset_blob`: the canonical bytes of a sha256.
    """

    def __init__(self, read_blob: Callable[[str], bytes], keep: int = KEEP) -> None:
        self._read_blob = read_blob
        self._keep = keep
        self._refs: OrderedDict[str, Any] = OrderedDict()
        self.puts = 0  # ray.put calls so far (a test checks one per data set)

    def shipment(self, specs: Iterable[TrialSpec]) -> Shipment | None:
        """The references a batch of these trials needs; None when it needs none.

        Raises:
            NotFound: a data set deleted since its sweep was submitted.
        """
        shas = sorted({str(s.dataset.id) for s in specs if s.dataset.name == UPLOADED})
        return {sha: [self._ref(sha)] for sha in shas} or None

    def _ref(self, sha256: str) -> Any:
        if sha256 not in self._refs:
            x, y = uploaded.decode(self._read_blob(sha256))
            self._refs[sha256] = ray.put((x, y))
            self.puts += 1
            while len(self._refs) > self._keep:
                self._refs.popitem(last=False)
        self._refs.move_to_end(sha256)
        return self._refs[sha256]


def receive(shipment: Shipment | None) -> None:
    """Worker side: make the shipped data sets available to `sweepd.datasets.load`."""
    for sha256, (ref,) in (shipment or {}).items():
        if not uploaded.registered(sha256):
            x, y = ray.get(ref)
            uploaded.register(sha256, x, y)
