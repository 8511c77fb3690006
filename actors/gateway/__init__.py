"""The Kubernetes HTTP API (kube-apiserver's REST surface) over the NATS api.

``server.py`` (the actor and handler chain), ``identity.py`` (certificates, tokens,
impersonation), ``pki.py`` (the cluster CA), ``paths.py`` (URL -> kind, verb), ``rest.py`` (verbs,
watch), ``subresources.py`` (scale, log, eviction, binding), ``discovery.py`` and ``table.py``
(pure documents from the kind registry and the printers).
"""
