"""The service proxy (the seed's Proxy component): one per host, Kubernetes 1.2's userspace mode.

plan.py (pure: Services + Endpoints -> service ports, backends, iptables rules), balancer.py (pure:
round robin with ClientIP affinity), iptables.py (the host's nat table), relay.py (asyncio TCP/UDP
relays) and proxier.py (the actor that ties them to the informers).
"""
