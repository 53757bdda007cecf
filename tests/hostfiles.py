"""What a test host's directory holds: users, sudoers, host key, sshd_config and init.py.

init.py runs as PID 1 of the host (inside ``unshare --mount --pid``): it bind-mounts the
host's own ``run``, ``bin`` and passwd/group/shadow (and sudoers) over ``/run``,
``/usr/local/bin`` and ``/etc``, in that mount namespace only, starts sshd and reaps
orphans (daemonized QEMUs are re-parented to it, as on a node).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from hostprocs import _run

if TYPE_CHECKING:
    from hostnet import TestHost

SUDOERS_NOPASSWD = (
    'Defaults secure_path="/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
    "Defaults !lecture\n"
    "root ALL=(ALL:ALL) ALL\n"
    "# the read-only commands kataview runs, and nothing else:\n"
    "kvuser ALL=(root) NOPASSWD: /usr/bin/cat, /usr/local/bin/crictl, /usr/bin/ctr\n"
    "kvpass ALL=(ALL:ALL) ALL\n"
)

INIT = r'''
import os, signal, subprocess, sys, time
d = sys.argv[1]
def bind(src, dst):
    subprocess.run(["mount", "--bind", src, dst], check=True)
bind(d + "/run", "/run")
bind(d + "/bin", "/usr/local/bin")
for name in ("passwd", "group", "shadow"):
    bind(d + "/etc/" + name, "/etc/" + name)
if os.path.exists(d + "/etc/sudoers"):
    bind(d + "/etc/sudoers", "/etc/sudoers")
os.makedirs("/run/sshd", exist_ok=True)
log = open(d + "/sshd.log", "ab")
subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", d + "/sshd_config"], stdout=log, stderr=log)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
open(d + "/ready", "w").close()
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
'''


def write_host_files(host: TestHost, client_key: Path, sudoers: str | None) -> None:
    """Users, sudoers, host key, authorized_keys (``client_key``) and sshd_config of ``host``."""
    d = host.directory
    for sub in ("run", "bin", "etc", "home"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_ed25519"))
    home = d / "home"
    (d / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        f"kvtest:x:0:0:kataview test:{home}:/bin/sh\n"
        f"kvuser:x:4242:4242:kataview sudo test:{home}:/bin/sh\n"
        f"kvpass:x:4243:4243:kataview sudo test:{home}:/bin/sh\n")
    (d / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\nkvuser:x:4242:\nkvpass:x:4243:\n")
    shadow = d / "etc" / "shadow"
    shadow.write_text("".join(f"{user}:*:19000:0:99999:7:::\n"
                              for user in ("root", "sshd", "nobody", "kvtest", "kvuser", "kvpass")))
    shadow.chmod(0o640)
    if sudoers is not None:
        (d / "etc" / "sudoers").write_text(sudoers)
        (d / "etc" / "sudoers").chmod(0o440)
    (d / "authorized_keys").write_text((client_key.with_suffix(".pub")).read_text())
    (d / "sshd_config").write_text(textwrap.dedent(f"""\
        Port {host.port}
        ListenAddress {host.address}
        HostKey {d}/host_ed25519
        PidFile /run/sshd.pid
        AuthorizedKeysFile {d}/authorized_keys
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        UsePAM no
        StrictModes no
        PermitRootLogin yes
        AllowStreamLocalForwarding yes
        """))
