"""Assembly of the control plane: which actors run, in which order, under which leases.

``start_control_plane`` is shared by ``jetkube up`` (everything in one process on the embedded
NATS) and ``jetkube controlplane`` (one replica of the control plane for the multi-node test bed).
The api actor runs in every replica (a queue group shares the requests); the scheduler and every
controller are singletons, each under its own lease, so two replicas never both act.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.api.actor import ApiActor
from actors.runtime.supervisor import Supervisor
from bus.connection import Bus
from bus.store import Store

log = structlog.get_logger(__name__)


@dataclass
class ControlPlaneSettings:
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}")
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    node_monitor_grace_period: float = 40.0
    pod_eviction_timeout: float = 300.0
    terminated_pod_gc_threshold: int = 12500
    service_cluster_ip_range: str = "10.96.0.0/12"
    controllers: tuple[str, ...] | None = None  # None: all of them
    encryption_key_file: str | None = None  # Secrets encrypted at rest with these keys (created if missing)
    ingress_port: int = 0  # 0: no ingress proxy in this process (actors/ingress)
    ingress_host: str = "0.0.0.0"
    runtime_config: str = ""  # kube-apiserver's --runtime-config (schemas/versions.py)
    storage_versions: str = ""  # kube-apiserver's --storage-versions
    hpa_sync_period: float = 15.0  # kube-controller-manager's --horizontal-pod-autoscaler-sync-period
    cluster_cidr: str = "10.244.0.0/16"  # --cluster-cidr: the pod network, cut into node subnets
    node_cidr_mask_size: int = 24  # --node-cidr-mask-size: each Node's spec.podCIDR prefix
    # actors.metrics.history.History kept by this process (jetkube up): the autoscaler reads it
    metrics_history: Any = None


ControllerStarter = Callable[[Bus, Store, ControlPlaneSettings], Awaitable[Any]]


def singleton(
    sup: Supervisor,
    bus: Bus,
    store: Store,
    settings: ControlPlaneSettings,
    name: str,
    run: Callable[[], Awaitable[Any]],
    fence: Any = None,
) -> None:
    """Run ``run`` only while this replica holds the lease ``name`` (``fence``: its writes are
    fenced by that lease, actors/runtime/fencing.py)."""
    from actors.runtime.leader import LeaderElector, StoreLeaseBackend

    elector = LeaderElector(
        StoreLeaseBackend(store),
        name,
        settings.identity,
        lease_duration=settings.lease_duration,
        renew_deadline=settings.renew_deadline,
        retry_period=settings.retry_period,
    )
    if fence is not None:
        fence.bind(elector)
    sup.spawn(f"lease.{name}", lambda: elector.run(run))


ALL_CONTROLLERS = (
    "scheduler",
    "replicationcontroller",
    "replicaset",
    "deployment",
    "daemonset",
    "job",
    "cronjob",
    "endpoints",
    "garbagecollector",
    "nodelifecycle",
    "namespace",
    "resourcequota",
    "horizontalpodautoscaling",
    "persistentvolume",
    "statefulset",
    "nodeipam",
    "serviceaccount",
)


def build_controllers(
    bus: Bus, api: Any, informers: Any, settings: ControlPlaneSettings, *, fence_writes: bool = False
) -> list[Any]:
    """One instance of every controller that ``settings.controllers`` asks for (all by default).

    ``fence_writes``: each controller gets its own client whose writes carry its lease's fencing
    token (actors/runtime/fencing.py; its ``fence`` attribute is bound to the elector later)."""
    from actors.admission.quota_controller import ResourceQuotaController
    from actors.autoscaler.controller import HorizontalPodAutoscalerController, history_usage
    from actors.cronjob.controller import CronJobController
    from actors.daemonset.controller import DaemonSetController
    from actors.deployment.controller import DeploymentController
    from actors.endpoints.controller import EndpointsController
    from actors.gc.controller import GarbageCollector
    from actors.job.controller import JobController
    from actors.namespace.controller import NamespaceController
    from actors.nodeipam.controller import NodeIpamController
    from actors.nodeipam.pool import parse_pool
    from actors.nodelifecycle.controller import NodeLifecycleController
    from actors.nodelifecycle.decide import Settings as NodeSettings
    from actors.replication.controller import ReplicaSetController, ReplicationControllerManager
    from actors.serviceaccount.controller import ServiceAccountController
    from actors.statefulset.controller import StatefulSetController
    from actors.storage.controller import PersistentVolumeController
    from bus.events import EventRecorder

    wanted = set(settings.controllers or ALL_CONTROLLERS)

    def rec(component: str) -> EventRecorder:
        return EventRecorder(bus, component)

    makers: dict[str, Callable[[Any], Any]] = {
        "replicationcontroller": lambda api: ReplicationControllerManager(
            api, informers, recorder=rec("replication-controller")
        ),
        "replicaset": lambda api: ReplicaSetController(api, informers, recorder=rec("replicaset-controller")),
        "deployment": lambda api: DeploymentController(api, informers, recorder=rec("deployment-controller")),
        "daemonset": lambda api: DaemonSetController(api, informers, recorder=rec("daemonset-controller")),
        "job": lambda api: JobController(api, informers, recorder=rec("job-controller")),
        "cronjob": lambda api: CronJobController(api, informers, recorder=rec("cronjob-controller")),
        "endpoints": lambda api: EndpointsController(api, informers),
        "garbagecollector": lambda api: GarbageCollector(
            api, informers, terminated_pod_gc_threshold=settings.terminated_pod_gc_threshold
        ),
        "nodelifecycle": lambda api: NodeLifecycleController(
            api,
            informers,
            NodeSettings(
                node_monitor_grace_period=settings.node_monitor_grace_period,
                pod_eviction_timeout=settings.pod_eviction_timeout,
            ),
            recorder=rec("node-controller"),
        ),
        "namespace": lambda api: NamespaceController(api, informers),
        "resourcequota": lambda api: ResourceQuotaController(api, informers),
        "horizontalpodautoscaling": lambda api: HorizontalPodAutoscalerController(
            api,
            informers,
            sync_period=settings.hpa_sync_period,
            recorder=rec("horizontal-pod-autoscaler"),
            **(
                {"usage": history_usage(settings.metrics_history)}
                if settings.metrics_history is not None
                else {}
            ),
        ),
        "persistentvolume": lambda api: PersistentVolumeController(
            api, informers, recorder=rec("persistentvolume-controller")
        ),
        "statefulset": lambda api: StatefulSetController(
            api, informers, recorder=rec("statefulset-controller")
        ),
        "nodeipam": lambda api: NodeIpamController(
            api,
            informers,
            parse_pool(settings.cluster_cidr, settings.node_cidr_mask_size),
            recorder=rec("node-controller"),
        ),
        "serviceaccount": lambda api: ServiceAccountController(api, informers),
    }
    built: list[Any] = []
    for name, make in makers.items():
        if name not in wanted:
            continue
        if not fence_writes:
            built.append(make(api))
            continue
        from actors.runtime.fencing import Fence, FencedApiClient

        fence = Fence()  # bound to the controller's elector by start_control_plane
        ctrl = make(FencedApiClient(bus, fence))
        ctrl.fence = fence
        built.append(ctrl)
    return built


def start_control_plane(sup: Supervisor, bus: Bus, store: Store, settings: ControlPlaneSettings) -> ApiActor:
    """The api actor (every replica) with its admission hooks, then the singletons under leases."""
    from actors.admission.hooks import Admission
    from actors.runtime.controller import run_controller
    from actors.runtime.listwatch import StoreListWatcher
    from actors.runtime.shared import SharedInformers
    from bus.client import ApiClient
    from schemas.versions import build as build_versions

    versions = build_versions(settings.runtime_config, settings.storage_versions)  # BadRequest: bad flags
    store.versions = versions  # every write of this process is in the storage version
    from actors.admission.podsecurity import PodSecurity

    informers = SharedInformers(StoreListWatcher(store))
    api_store = store
    before_serving: list[Any] = []
    if settings.encryption_key_file:
        from pathlib import Path

        from actors.api.encryption import EncryptingStore, KeyRing
        from actors.api.keycheck import verify_keys

        sealed_store = EncryptingStore(store, KeyRing.load_or_create(Path(settings.encryption_key_file)))
        api_store = sealed_store
        # a lost key file: refuse to serve, naming the keys the stored Secrets need
        before_serving.append(lambda: verify_keys(sealed_store))
    api_actor = ApiActor(bus, api_store, informers=informers)
    api_actor.before_serving.extend(before_serving)
    pod_security = PodSecurity(api_actor.namespaces, api_actor.api.store)
    api_actor.api.create_hooks.append(pod_security.admit)
    api_actor.api.update_hooks.append(pod_security.admit)
    api_actor.api.versions = versions
    admission = Admission(store, informers, service_cluster_ip_range=settings.service_cluster_ip_range)
    api_actor.api.create_hooks.append(admission.admit_create)
    api_actor.api.update_hooks.append(admission.admit_update)
    api_actor.api.delete_hooks.append(admission.after_delete)
    api_actor.before_serving.append(admission.ready)
    api_actor.start(sup)

    client = ApiClient(bus)
    controllers = build_controllers(bus, client, informers, settings, fence_writes=True)
    wanted = set(settings.controllers or ALL_CONTROLLERS)
    if "scheduler" in wanted:
        from actors.scheduler.actor import SchedulerActor
        from bus.events import EventRecorder

        scheduler = SchedulerActor(
            store,
            pods=informers.informer("pods"),
            nodes=informers.informer("nodes"),
            recorder=EventRecorder(bus, "default-scheduler"),
            claims=informers.informer("persistentvolumeclaims"),
            volumes=informers.informer("persistentvolumes"),
            classes=informers.informer("storageclasses"),
        )
        singleton(sup, bus, store, settings, "kube-scheduler", scheduler.run, scheduler.fence)
    if settings.ingress_port:
        from actors.ingress import start_ingress

        start_ingress(sup, informers, client, port=settings.ingress_port, host=settings.ingress_host)
    informers.start(sup)
    for ctrl in controllers:
        singleton(
            sup,
            bus,
            store,
            settings,
            ctrl.name,
            lambda c=ctrl: run_controller(c),
            getattr(ctrl, "fence", None),
        )
    return api_actor
