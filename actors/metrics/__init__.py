"""The actors' Prometheus metrics, on the process's registry (see bus/metrics.py for the server).

* workqueues (controllers and kubelets): ``jetkube_workqueue_adds_total{name}``,
  ``jetkube_workqueue_retries_total{name}`` (counted in the queue's own methods) and
  ``jetkube_workqueue_depth{name}`` (keys ready to be taken, read at scrape time from every live
  queue, so adding a key costs nothing more than one counter increment);
* the scheduler: ``jetkube_scheduler_schedule_attempts_total{result}`` (scheduled |
  unschedulable | error), ``jetkube_scheduler_batch_duration_seconds`` (deciding one batch, no
  I/O) and ``jetkube_scheduler_binding_duration_seconds`` (one batch's pipelined binds);
* the kubelet: ``jetkube_kubelet_pod_starts_total{node}`` (pod sandboxes started),
  ``jetkube_kubelet_container_starts_total{node}``, ``jetkube_kubelet_probe_failures_total{node,
  probe}`` and ``jetkube_kubelet_log_lines_published_total{node}`` (the log stream).

The instruments live in ``actors.metrics.instruments`` (importing prometheus_client, which CLI
commands never need); ``actors.metrics.top`` is the client side of ``jetkube top``
(:func:`~actors.metrics.top.collect_top`).
"""
