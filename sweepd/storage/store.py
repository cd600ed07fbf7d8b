"""The store: every way sweepd reads and writes its database, returning plain records.

`Store` composes the parts of `sweepd.storage`, one per concern (the contract is in
docs/architecture.md, "Store"):

    AuthStore      users and API tokens (store_auth.py)
    SweepStore     submit, get, list, cancel sweeps (store_sweeps.py)
    TrialStore     trials, results, weights, events (store_trials.py)
    DispatchStore  leadership, claims, leases, results, releases (store_dispatch.py)
    SearchStore    a search's points so far and the next point's trials (store_search.py)
    DatasetStore   uploaded data sets: content-addressed blobs, owner-scoped (store_datasets.py)
    GrowthStore    seeds added to a sweep, the adaptive rule's blocks (store_growth.py)
    CompareStore   a comparison's reads: every trial's key, then the trials analysed
                   (store_compare.py)

Each public method is one unit of work (one transaction) and returns records from
`sweepd.records`; ORM rows never leave this package.
"""

from __future__ import annotations

from sweepd.storage.store_auth import AuthStore
from sweepd.storage.store_compare import CompareStore
from sweepd.storage.store_datasets import DatasetStore
from sweepd.storage.store_dispatch import DispatchStore
from sweepd.storage.store_growth import GrowthStore
from sweepd.storage.store_search import SearchStore
from sweepd.storage.store_sweeps import SweepStore
from sweepd.storage.store_trials import TrialStore


class Store(AuthStore, SweepStore, TrialStore, DispatchStore, SearchStore, GrowthStore,
            DatasetStore, CompareStore):
    """sweepd's database, behind the contract of docs/architecture.md.

    Build it with `sweepd.storage.open_store(url, auto_migrate=...)`, which checks the schema
    first, or as `Store(engine)` over an engine from `sweepd.storage.database.create_engine`.
    """
