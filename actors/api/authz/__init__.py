"""Authorization in the api actor: who the request comes from, and may they do it.

``gate.py`` wires it into the api's request path; ``rbac.py`` evaluates Roles and bindings (pure);
``node.py`` is the node authorizer for kubelets (pure, given the pods bound to the node);
``bootstrap.py`` holds the default ClusterRoles and bindings written at start.
"""
