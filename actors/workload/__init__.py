"""The workload controllers' shared library: what every pod-owning controller (replication,
deployment, daemonset, job, statefulset, cronjob) does alike.

- :mod:`~actors.workload.workload`: the controller base (pod handlers with expectations, slow-start
  creation, adoption and release, events);
- :mod:`~actors.workload.expectations`, :mod:`~actors.workload.ownership` (controller references,
  claiming), :mod:`~actors.workload.podutil` (pods from templates, readiness, which to delete),
  :mod:`~actors.workload.selector` (the controllers' selector rule), :mod:`~actors.workload.intstr`,
  :mod:`~actors.workload.timeutil` (the clock), :mod:`~actors.workload.events` (the Event a plan
  asks for) and :mod:`~actors.workload.hashing` (the pod-template hash).

The controllers' packages import this one and never each other (pyproject.toml's import-linter
contracts).
"""
