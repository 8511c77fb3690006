"""kubectl's table columns as pure functions of an object: ages, a pod's READY/STATUS/RESTARTS, and
the columns of every kind's ``get`` table. Shared by the CLI's printers (``cli/printers``) and the
dashboard (``actors/dashboard``), which sit in layers that may not import each other; no I/O."""
