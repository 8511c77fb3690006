"""The service proxy (the seed's Proxy component): one per host, Kubernetes 1.2's iptables mode (the
default) or its userspace mode.

plan.py (pure: Services + Endpoints -> service ports, backends, the userspace REDIRECTs), rules.py
(pure: the iptables mode's chains and conntrack flushes), balancer.py (pure: round robin with
ClientIP affinity), iptables.py (the host's tables), conntrack.py, relay.py (asyncio TCP/UDP
relays), base.py (the informers and sync loop both modes share), iptables_mode.py and proxier.py
(the two modes' actors) and process.py (``start_proxy``).
"""
