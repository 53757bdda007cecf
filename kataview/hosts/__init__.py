"""The node side: what kataview learns from a worker over SSH.

Pure parts (no I/O): ``hypervisor`` (VMM command lines), ``ps`` (process tables),
``roles`` (which Kata piece a process is), ``commands`` (the read-only command builders),
``allowlist`` (the guard: which command lines may be sent),
``persist`` (Kata's persist.json), ``metrics`` (the shim's Prometheus text) and
``discovery`` (pod -> sandbox -> VM processes, from command output).

I/O: ``ssh`` (the connection pool and the read-only guard), ``hostkeys`` (known_hosts policy,
``trust_host_key``), ``vmfacts`` (``VMDetailGatherer``: what the VM panel calls),
``node_vms`` (every Kata VM on one node, for the node detail);
``errors`` holds the one-line NodeError family.
"""
