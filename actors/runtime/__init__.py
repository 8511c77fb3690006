"""The actor runtime: supervision, informers, workqueues, leader election, the controller shape.

Every actor is built from these pieces (see docs/CONTRACTS.md, "Actor runtime"):

- :mod:`~actors.runtime.supervisor`: named, restarted-with-backoff tasks; ordered shutdown.
- :mod:`~actors.runtime.informer` / :mod:`~actors.runtime.shared`: list-then-watch caches.
- :mod:`~actors.runtime.workqueue`: deduplicating, one-key-at-a-time, per-key backoff queue.
- :mod:`~actors.runtime.leader`: Lease-based leader election on the KV store.
- :mod:`~actors.runtime.controller`: the informer -> queue -> reconcile(key) pattern.
"""

from actors.runtime.backoff import Backoff
from actors.runtime.cache import by_namespace, by_node_name, by_owner_uid, key_of, split_key
from actors.runtime.controller import Controller, owner_key, run_controller
from actors.runtime.informer import Informer
from actors.runtime.leader import LeaderElector, LeaseBackend, StoreLeaseBackend
from actors.runtime.listwatch import Event, ListWatcher, NodePodsListWatcher, StoreListWatcher
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor, guarded_task
from actors.runtime.workqueue import WorkQueue, run_workers

__all__ = [
    "Backoff",
    "Controller",
    "Event",
    "Informer",
    "LeaderElector",
    "LeaseBackend",
    "ListWatcher",
    "NodePodsListWatcher",
    "SharedInformers",
    "StoreLeaseBackend",
    "StoreListWatcher",
    "Supervisor",
    "WorkQueue",
    "by_namespace",
    "by_node_name",
    "by_owner_uid",
    "guarded_task",
    "key_of",
    "owner_key",
    "run_controller",
    "run_workers",
    "split_key",
]
