"""The api's front door: find out who asks, authorize, then hand the request to :class:`Api`.

Two responders feed it (actors/api/actor.py):

* ``jetkube.api.<verb>`` -> :meth:`Gate.handle_trusted`. Once NATS auth is on only the control plane
  may publish there (bus/auth.py); with auth off, anyone can, as before this gate existed. Such a
  request acts as a member of ``system:masters`` and costs nothing extra.
* ``jetkube.api.u.<user>.<verb>`` -> :meth:`Gate.handle_user`. The user is the subject's token,
  which NATS lets only that user publish to: it cannot be forged in the payload.

Then, for both: ``impersonate`` (kubectl's ``--as``) is honoured for ``system:masters`` only; the
request becomes :class:`~actors.api.authz.rbac.Attributes` and is allowed by the node authorizer
(kubelets) or RBAC, else refused with Kubernetes' Forbidden message; a kubelet's pod create that
the node authorizer refuses stays refused whatever RBAC grants, as with Kubernetes' NodeRestriction
admission. ``cani`` answers whether a request would be allowed; ``rotatekey`` re-encrypts every
Secret (system:masters only); ``watch`` starts a streaming watch (actors/api/watchstream.py) for
clients that may not read the state bucket themselves.

The RBAC objects come from the process's informers of the four kinds, so a decision costs no store
round trip; a binding takes effect as soon as the api's informer has seen it (milliseconds).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import structlog

from actors.api.authz.bootstrap import default_objects
from actors.api.authz.escalation import REQUESTER, admission_refusal
from actors.api.authz.hollow import NODE_LEASES, bound_node, hollow_allows, is_hollow
from actors.api.authz.node import node_allows, node_restricted, service_account_of
from actors.api.authz.rbac import Attributes, Policy, authorize, forbidden_message
from actors.api.selectors import selector_text
from actors.api.watchstream import BACKLOG, MAX_WATCHES_PER_USER, start_watch
from actors.runtime.shared import SharedInformers
from actors.serviceaccount.issuer import TokenIssuer
from bus.auth import AUTHENTICATED, TRUSTED, UserInfo, impersonated, inbox_prefix, user_info
from bus.store import Store
from schemas.decode import normalize
from schemas.errors import AlreadyExists, BadRequest, Forbidden, NotFound
from schemas.labels import parse_field_selector
from schemas.registry import lookup

log = structlog.get_logger(__name__)

RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
READ_VERBS = ("get", "list", "watch")


def _ns_of(payload: dict[str, Any]) -> str | None:
    ns = payload.get("namespace")
    if isinstance(ns, str) and ns:
        return ns
    body = payload.get("body")
    if payload.get("_verb") == "create" and isinstance(body, dict) and isinstance(body.get("metadata"), dict):
        meta_ns = body["metadata"].get("namespace")
        if isinstance(meta_ns, str) and meta_ns:
            return meta_ns
    return None


def selected_name(field_selector: Any) -> str:
    """The name a list or watch is restricted to: its field selector is ``metadata.name=<name>``
    (and nothing else), as Kubernetes' RequestInfo takes it; "" otherwise. A ``resourceNames``
    rule allows a list or watch only with it, so it can never read the rest of the namespace."""
    text = selector_text({"fieldSelector": field_selector}, "fieldSelector")
    reqs = parse_field_selector(text) if text else []
    if len(reqs) == 1 and reqs[0].path == "metadata.name" and reqs[0].operator == "=":
        return reqs[0].value
    return ""


def attributes_of(verb: str, payload: dict[str, Any]) -> Attributes:
    """The authorization attributes of an api request (BadRequest for an unknown resource)."""
    resource = payload.get("resource")
    if not isinstance(resource, str) or not resource:
        raise BadRequest("resource: Required value")
    info = lookup(resource)
    ns = _ns_of({**payload, "_verb": verb}) if info.namespaced else None
    if info.namespaced and not ns and verb not in ("list", "watch"):
        ns = "default"
    name = payload.get("name") if isinstance(payload.get("name"), str) else ""
    if verb in ("list", "watch"):
        name = selected_name(payload.get("fieldSelector"))
    if verb == "create" and not name and isinstance(payload.get("body"), dict):
        name = ""  # Kubernetes authorizes a create without the name
    sub = payload.get("subresource") if verb in ("update", "patch", "get") else None
    if verb == "delete" and payload.get("subresource") == "eviction":
        # an Eviction is a create of the pod's eviction subresource, as Kubernetes authorizes it
        # (kubectl drain; the default edit role grants it); the api then deletes the pod
        verb, sub = "create", "eviction"
    return Attributes(
        verb=verb,
        resource=info.plural,
        api_group=info.group,
        subresource=sub if isinstance(sub, str) else "",
        namespace=ns or "",
        name=name or "",
    )


class Gate:
    def __init__(self, api: Any, store: Store, informers: SharedInformers) -> None:
        self.api = api
        self.store = store
        self.issuer = TokenIssuer(store)
        self.rbac = {r: informers.informer(r) for r in RBAC_RESOURCES}
        self.watch_limit = MAX_WATCHES_PER_USER  # open watches per (non-system) user
        self.watch_backlog = BACKLOG  # events a watcher may fall behind before it is cut off
        # escalate/bind and NodeRestriction need the object a write would store (escalation.py)
        if hasattr(api, "create_hooks"):
            api.create_hooks.append(self._admit)
            api.update_hooks.append(self._admit)

    async def _admit(self, plural: str, new: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        user = REQUESTER.get()
        if user is not None:
            refusal = admission_refusal(user, plural, new, old, self.policy())
            if refusal:
                log.info("api.escalation_refused", user=user.name, resource=plural)
                raise Forbidden(refusal)
        return new

    # --------------------------------------------------------------- lifecycle

    async def bootstrap(self) -> None:
        """The default ClusterRoles and bindings, created when missing (never overwritten)."""
        for resource, obj in default_objects():
            try:
                await self.store.create(resource, normalize(obj))
            except AlreadyExists:
                pass

    async def ready(self, timeout: float = 30.0) -> None:
        for informer in self.rbac.values():
            await informer.wait_synced(timeout)

    def policy(self) -> Policy:
        m = self.rbac
        return Policy(
            roles=m["roles"].objects,
            cluster_roles=m["clusterroles"].objects,
            role_bindings=m["rolebindings"].objects,
            cluster_role_bindings=m["clusterrolebindings"].objects,
        )

    # ----------------------------------------------------------------- entries

    async def handle_trusted(self, verb: str, payload: dict[str, Any], msg: Any = None) -> Any:
        if "impersonate" not in payload and verb not in ("cani", "watch", "token"):
            return await self.api.handle(verb, payload, msg)
        return await self._handle(TRUSTED, None, verb, payload, msg)

    async def handle_user(self, verb: str, payload: dict[str, Any], msg: Any = None) -> Any:
        parts = str(getattr(msg, "subject", "")).split(".")
        if len(parts) != 5 or not parts[3]:
            raise BadRequest("api subjects are jetkube.api.u.<user>.<verb>")
        token = parts[3]
        return await self._handle(user_info(token), token, parts[4], payload, msg)

    async def _handle(
        self, requester: UserInfo, token: str | None, verb: str, payload: dict[str, Any], msg: Any
    ) -> Any:
        user = self._effective_user(requester, payload.pop("impersonate", None))
        if verb in ("version", "apiversions"):  # discovery: every user may ask (system:discovery)
            return await self.api.handle(verb, payload, msg)
        if verb == "cani":
            return await self.can_i(user, payload)
        if verb == "token":
            return await self.issue_token(user, payload)
        if verb == "rotatekey":
            return await self.rotate_key(user)
        if verb == "migrate":  # jetkube migrate-storage rewrites stored objects
            if not user.is_master:
                raise Forbidden(f'User "{user.name}" cannot migrate the storage (system:masters only)')
            return await self.api.handle(verb, payload, msg)
        if verb == "nodepods":
            node = str(payload.get("node") or "")
            attrs = Attributes("nodepods", "nodepods", name=node)
            hollow = user.hollow and hollow_allows(attrs, node=await self._stored("nodes", "", node))[0]
            if not (user.is_master or hollow or (user.node and node_allows(user.node, attrs)[0])):
                raise Forbidden(f'User "{user.name}" cannot list the pods of node "{node}"')
            return await self.api.handle(verb, payload, msg)
        attrs = attributes_of(verb, payload)
        await self.check(user, attrs, payload)
        if verb == "patch" and payload.get("patchType") == "apply" and not user.is_master:
            if await self._stored(attrs.resource, attrs.namespace, attrs.name) is None:
                # an apply that will create the object needs create too, as kube-apiserver checks it
                await self.check(user, dataclasses.replace(attrs, verb="create"), payload)
        if verb == "watch":
            inbox = payload.get("stream")
            if not isinstance(inbox, str) or not inbox:
                raise BadRequest("stream: Required value (the inbox the events are sent to)")
            if token is not None and not inbox.startswith(inbox_prefix(token) + "."):
                raise Forbidden(
                    f"stream: a watch may only be sent to the user's own inbox {inbox_prefix(token)}.>"
                )
            system = user.is_master or user.node is not None
            return start_watch(
                self.api.bus,
                self.api.store,
                attrs,
                payload,
                inbox,
                user=None if system else user.name,
                limit=self.watch_limit,
                backlog=self.watch_backlog,
            )
        token_ = REQUESTER.set(user)
        try:
            return await self.api.handle(verb, payload, msg)
        finally:
            REQUESTER.reset(token_)

    async def issue_token(self, user: UserInfo, payload: dict[str, Any]) -> dict[str, Any]:
        """A TokenRequest: ``create serviceaccounts/token`` on the named ServiceAccount."""
        ns, name = payload.get("namespace") or "default", payload.get("name")
        if not isinstance(name, str) or not name or not isinstance(ns, str):
            raise BadRequest("name: Required value (the ServiceAccount)")
        body = payload.get("body") if isinstance(payload.get("body"), dict) else {}
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        if not (user.hollow and await self._hollow_pod_token(ns, name, spec)):
            await self.check(user, Attributes("create", "serviceaccounts", "", "token", ns, name), payload)
        return await self.issuer.issue(ns, name, spec)

    async def _hollow_pod_token(self, ns: str, name: str, spec: dict[str, Any]) -> bool:
        """A fleet of hollow nodes may ask for the token of a pod bound to one of its nodes, for
        that pod's own ServiceAccount (as a kubelet may for its pods)."""
        ref = spec.get("boundObjectRef") if isinstance(spec.get("boundObjectRef"), dict) else {}
        pod = await self._stored("pods", ns, str(ref.get("name") or "")) if ref.get("kind") == "Pod" else None
        if pod is None or service_account_of(pod) != (ns, name):
            return False
        return is_hollow(await self._stored("nodes", "", bound_node(pod)))

    # ----------------------------------------------------------------- decisions

    def _effective_user(self, requester: UserInfo, spec: Any) -> UserInfo:
        if not spec:
            return requester
        if not isinstance(spec, dict) or not isinstance(spec.get("user"), str) or not spec["user"]:
            raise BadRequest("impersonate: must be {user, groups}")
        allowed, _ = self._rbac(requester, Attributes("impersonate", "users", name=spec["user"]))
        if not allowed:
            raise Forbidden(
                f'users "{spec["user"]}" is forbidden: User "{requester.name}" cannot impersonate resource '
                '"users" in API group "" at the cluster scope'
            )
        groups = spec.get("groups")
        if groups is not None and not isinstance(groups, list):
            raise BadRequest("impersonate.groups: must be a list of strings")
        user = impersonated(spec["user"], [str(g) for g in groups or []])
        # every group (those implied by the name too) and every extra is checked on its own
        wanted = [Attributes("impersonate", "groups", name=g) for g in user.groups if g != AUTHENTICATED]
        extra = spec.get("extra") or {}
        if not isinstance(extra, dict):
            raise BadRequest("impersonate.extra: must be a map of lists of strings")
        for key, values in extra.items():
            for value in values if isinstance(values, list) else [values]:
                wanted.append(Attributes("impersonate", "userextras", subresource=str(key), name=str(value)))
        for attrs in wanted:
            if not self._rbac(requester, attrs)[0]:
                what = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
                raise Forbidden(
                    f'{attrs.resource} "{attrs.name}" is forbidden: User "{requester.name}" cannot '
                    f'impersonate resource "{what}" in API group "" at the cluster scope'
                )
        return user

    def _rbac(self, user: UserInfo, attrs: Attributes) -> tuple[bool, str]:
        return authorize(user, attrs, self.policy())

    async def decide(self, user: UserInfo, attrs: Attributes, payload: dict[str, Any]) -> tuple[bool, str]:
        if user.is_master:
            return True, "member of system:masters"
        if user.hollow:  # system:hollow-nodes: hollow Nodes and their pods only (authz/hollow.py)
            return await self._decide_hollow(attrs, payload)
        if user.node:
            target = None
            if attrs.resource == "pods" and attrs.verb not in ("create", "list", "watch"):
                try:
                    target = await self.store.get("pods", attrs.namespace or "default", attrs.name)
                except NotFound:
                    target = None
            body = payload.get("body") if isinstance(payload.get("body"), dict) else None
            node_pods: list[dict[str, Any]] = []
            if attrs.resource in ("secrets", "configmaps", "persistentvolumeclaims", "serviceaccounts"):
                node_pods = self._pods_on(user.node)
            ok, why = node_allows(user.node, attrs, node_pods=node_pods, target=target, body=body)
            if ok:
                return True, why
            if node_restricted(attrs):  # NodeRestriction: RBAC granted to nodes does not lift it
                return False, why
            rbac_ok, rbac_why = self._rbac(user, attrs)
            return (True, rbac_why) if rbac_ok else (False, why)
        return self._rbac(user, attrs)

    async def _stored(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        if not name:
            return None
        try:
            return await self.store.get(resource, namespace or None, name)
        except NotFound:
            return None

    async def _decide_hollow(self, attrs: Attributes, payload: dict[str, Any]) -> tuple[bool, str]:
        body = payload.get("body") if isinstance(payload.get("body"), dict) else None
        target = node = None
        if attrs.resource == "nodes" and attrs.verb not in ("create", "get", "list", "watch"):
            node = await self._stored("nodes", "", attrs.name)
        elif attrs.resource == "pods" and attrs.verb not in ("create", "list", "watch"):
            target = await self._stored("pods", attrs.namespace or "default", attrs.name)
            bound = str(((target or {}).get("spec") or {}).get("nodeName") or "")
            node = await self._stored("nodes", "", bound)
        elif attrs.resource == "leases" and attrs.namespace == NODE_LEASES:
            name = attrs.name or str(((body or {}).get("metadata") or {}).get("name") or "")
            node = await self._stored("nodes", "", name)
        return hollow_allows(attrs, node=node, target=target, body=body)

    def _pods_on(self, node: str) -> list[dict[str, Any]]:
        relay = getattr(self.api, "relay", None)
        if relay is None:
            return []
        return list(relay.pods_on(node).get("items") or [])

    async def check(self, user: UserInfo, attrs: Attributes, payload: dict[str, Any]) -> None:
        ok, why = await self.decide(user, attrs, payload)
        if not ok:
            message = forbidden_message(user, attrs)
            if (user.node or user.hollow) and why:
                message += f": {why}"
            log.info("api.forbidden", user=user.name, verb=attrs.verb, resource=attrs.shown_resource)
            raise Forbidden(message)

    async def rotate_key(self, user: UserInfo) -> dict[str, Any]:
        from actors.api.encryption import EncryptingStore, rotate

        if not user.is_master:
            raise Forbidden(
                f'User "{user.name}" cannot rotate the Secrets encryption key (system:masters only)'
            )
        store = self.api.store
        if not isinstance(store, EncryptingStore):
            raise BadRequest(
                "Secrets are not encrypted at rest here: start the api with --encryption-key-file"
            )
        return await rotate(store)

    async def can_i(self, user: UserInfo, payload: dict[str, Any]) -> dict[str, Any]:
        verb = payload.get("verb")
        if not isinstance(verb, str) or not verb:
            raise BadRequest("verb: Required value")
        resource = str(payload.get("resource") or "")
        sub = ""
        if "/" in resource:
            resource, sub = resource.split("/", 1)
        if resource == "*":
            attrs = Attributes(verb, "*", "*", namespace=str(payload.get("namespace") or ""))
        else:
            attrs = attributes_of(
                verb if verb in ("create", "list", "watch") else "get",
                {"resource": resource, "namespace": payload.get("namespace"), "name": payload.get("name")},
            )
            attrs = Attributes(verb, attrs.resource, attrs.api_group, sub, attrs.namespace, attrs.name)
        ok, why = await self.decide(user, attrs, {})
        return {"allowed": ok, "reason": why, "user": user.name}
