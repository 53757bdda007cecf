"""A key known_hosts marks @revoked is reported as revoked, not as a changed key (issue 13,
finding 10), and is never offered for trust (it is a HostKeyChanged)."""

from __future__ import annotations

import asyncssh

from kataview.hosts.errors import HostKeyChanged, HostKeyRevoked
from kataview.hosts.hostkeys import OfferedKey, refusal


def test_revoked_key_is_worded_as_revoked(tmp_path):
    key = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()
    line = key.export_public_key("openssh").decode().strip()
    known = tmp_path / "known_hosts"
    known.write_text(f"@revoked [127.0.0.1]:2222 {line}\n")
    error = refusal("node-1", str(known), "127.0.0.1", 2222, OfferedKey("127.0.0.1", "127.0.0.1", 2222, key))
    assert isinstance(error, HostKeyRevoked) and isinstance(error, HostKeyChanged)
    assert "REVOKED" in str(error) and "CHANGED" not in str(error)


def test_the_vm_panel_says_revoked(tmp_path):
    from kataview.ui.widgets.vm_panel import error_line

    error = HostKeyRevoked("node-1", "HOST KEY REVOKED for node-1", host="h", port=22, key=None,
                           fingerprint="SHA256:x", known_hosts="kh")
    line, loud = error_line(error, "node-1", read_only=False)
    assert loud and "HOST KEY REVOKED" in line.plain and "CHANGED" not in line.plain
