"""The node side over SSH: read-only command allowlist, parsers for ps and hypervisor command lines."""
