"""Health of every jetkube process: live answers over NATS, heartbeats in a KV bucket.

``report.py`` (pure) turns a supervisor's children into a report and reports into component
statuses; ``agent.py`` answers health requests and writes heartbeats; ``query.py`` gathers them
for ``jetkube cluster-info`` and ``jetkube get componentstatuses``.
"""
