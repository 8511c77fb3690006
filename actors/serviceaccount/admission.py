"""The ServiceAccount admission plugin (pure): every new pod runs as a ServiceAccount and, unless it
opts out, gets its token mounted where client libraries look for it.

As Kubernetes does it, a pod is given

* ``spec.serviceAccountName: default`` when it names none;
* when ``automountServiceAccountToken`` is not false (the pod's setting wins over the
  ServiceAccount's), a projected volume ``kube-api-access-<suffix>`` with the three files of
  in-cluster configuration -- ``token`` (a bound token the kubelet requests and refreshes),
  ``ca.crt`` (the ``kube-root-ca.crt`` ConfigMap) and ``namespace`` (downward API) -- mounted
  read-only at ``/var/run/secrets/kubernetes.io/serviceaccount`` in every container that does not
  mount something there already.

Where jetkube differs on purpose: a pod whose ServiceAccount does not exist (yet) is admitted
unchanged (no token volume, no ``serviceAccountName``) rather than refused (test clusters without
the serviceaccount controller keep working), and the ``ca.crt`` source is optional, so a cluster
without the HTTPS gateway (no CA) still starts the pod.
"""

from __future__ import annotations

import copy
import random
import string
from typing import Any

Obj = dict[str, Any]

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION = 3607
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def service_account_name(pod: Obj) -> str:
    spec = pod.get("spec") or {}
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")


def wants_token(pod: Obj, account: Obj | None) -> bool:
    own = (pod.get("spec") or {}).get("automountServiceAccountToken")
    if own is not None:
        return bool(own)
    return (account or {}).get("automountServiceAccountToken") is not False


def token_volume(name: str) -> Obj:
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION, "path": "token"}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        "optional": True,
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }


def admit_pod(pod: Obj, account: Obj | None, rng: random.Random | None = None) -> Obj:
    """The pod as the plugin admits it (a copy when changed). ``account``: its ServiceAccount, or None
    when that does not exist."""
    meta = pod.get("metadata") or {}
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return pod  # static pods run without the api's identities
    if account is None:
        return pod
    out = copy.deepcopy(pod)
    spec = out.setdefault("spec", {})
    spec["serviceAccountName"] = service_account_name(pod)
    if not wants_token(pod, account):
        return out
    suffix = "".join((rng or random).choices(string.ascii_lowercase + string.digits, k=5))
    volume = f"{VOLUME_PREFIX}{suffix}"
    added = False
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            mounts = container.setdefault("volumeMounts", [])
            if any(str(m.get("mountPath") or "").rstrip("/") == MOUNT_PATH for m in mounts):
                continue
            mounts.append({"name": volume, "readOnly": True, "mountPath": MOUNT_PATH})
            added = True
    if added:
        spec.setdefault("volumes", []).append(token_volume(volume))
    return out
