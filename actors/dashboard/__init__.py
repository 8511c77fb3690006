"""The Dashboard: a web page of the cluster (nodes, workloads, pods, events, a pod's logs) with
buttons to scale a controller and delete a pod, kept current from the store's watch.

- :mod:`actors.dashboard.views` — pure: an object as a row of kubectl's columns;
- :mod:`actors.dashboard.feed` — informers and the events stream, fanned out to open pages;
- :mod:`actors.dashboard.stream` — ``/api/watch``, server-sent events (snapshot, then changes);
- :mod:`actors.dashboard.api` — the JSON API (reads from the caches, writes through the api);
- :mod:`actors.dashboard.server` — :class:`~actors.dashboard.server.Dashboard`, the aiohttp app;
- ``static/`` — the page (HTML, CSS, vanilla JavaScript; no build step, no CDN).

``jetkube dashboard`` (cli/commands/dashboard.py) runs it against a cluster; ``jetkube up`` starts
it beside the control plane (``--dashboard-port``, 0 turns it off).
"""
