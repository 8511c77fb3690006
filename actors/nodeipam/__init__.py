"""Node IPAM: each Node gets a subnet of the cluster CIDR in ``spec.podCIDR`` (kube-controller-manager's
``--allocate-node-cidrs``). pool.py decides, controller.py writes; clusterconfig.py is the cluster
CIDR the controller publishes for the kubelets (ConfigMap ``kube-system/jetkube-cluster-config``)."""
