"""The fault-injection run (``jetkube testbed chaos``): a seeded nemesis, a workload that records a
history, and checkers that judge the history (Jepsen's and Porcupine's shape).

* :mod:`cli.chaos.history`: the recorded operations (invoke / ok / fail / info, with times).
* :mod:`cli.chaos.linearizable`: a linearizability checker for compare-and-set registers.
* :mod:`cli.chaos.tcpproxy`: a TCP proxy that cuts and blocks connections on command.
"""
