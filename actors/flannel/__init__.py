"""The pod network across hosts: flannel's kube-subnet-mgr on jetkube's Nodes.

plan.py decides (routes, neighbour and forwarding entries, iptables rules) from the Node list;
condition.py decides the Node's ``NetworkUnavailable`` condition;
netlink.py runs ``ip``, ``bridge`` and ``iptables`` on one host (or one network namespace);
agent.py is the kubelet's agent that ties them to a watch on Nodes; the kubelet's ``on_subnet`` hook
(actors/kubelet/process.py) makes the pods' Docker bridge on the node's subnet.
"""
