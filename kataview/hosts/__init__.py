"""The node side: what kataview learns from a worker over SSH.

Pure parts (no I/O): ``hypervisor`` (VMM command lines), ``ps`` (process tables),
``roles`` (which Kata piece a process is), ``commands`` (the read-only allowlist),
``persist`` (Kata's persist.json) and ``metrics`` (the shim's Prometheus text).
"""
