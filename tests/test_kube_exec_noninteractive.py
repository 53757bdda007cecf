"""Credential plugins run without the terminal, even when kataview's stdout is one (the TUI)."""

import stat
import sys

from kataview.kube import connection  # noqa: F401 - installs the non-interactive runner
from kubernetes.config.exec_provider import ExecProvider
from kubernetes.config.kube_config import ConfigNode


class FakeTerminal:
    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def test_exec_plugin_is_told_it_is_not_interactive(tmp_path, monkeypatch):
    plugin = tmp_path / "plugin"
    plugin.write_text(f"#!{sys.executable}\n"
                      "import json, os\n"
                      "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
                      "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',"
                      " 'status': {'token': 'interactive=' + str(info['spec']['interactive'])}}))\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(sys, "stdout", FakeTerminal())  # as under the TUI
    provider = ExecProvider(ConfigNode("exec", {"apiVersion": "client.authentication.k8s.io/v1",
                                                 "command": str(plugin)}), str(tmp_path))
    assert provider.run()["token"] == "interactive=False"
