"""Cluster DNS (the seed's SkyDNS + Kube2Sky in one actor): records.py (pure answers from Services
and Endpoints), server.py (UDP/TCP server, forwarding other names), registration.py (the kube-dns
Service and its Endpoints) and podconfig.py (a pod's resolv.conf settings by dnsPolicy)."""
