"""Which address a node is reached at: kataview's override, the operator's ssh config, the node's own."""

from kataview.hosts.ssh import SSHOptions, SSHPool
from kataview.model.records import Node, NodeAddress

NODE = Node(name="k8s-worker-untrusted", addresses=(NodeAddress("InternalIP", "10.0.0.12"),))


def test_internal_ip_without_any_config():
    assert SSHPool(SSHOptions()).address_of(NODE) == "10.0.0.12"


def test_ssh_config_host_block_for_the_node_name_wins(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text("Host k8s-worker-*\n    HostName 192.0.2.7\n    User ops\n")
    assert SSHPool(SSHOptions(config_files=(str(config),))).address_of(NODE) == "k8s-worker-untrusted"


def test_ssh_config_for_other_hosts_is_ignored(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text("Host bastion\n    HostName 192.0.2.1\nHost *\n    User ops\n")
    assert SSHPool(SSHOptions(config_files=(str(config),))).address_of(NODE) == "10.0.0.12"


def test_kataview_override_beats_everything(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text("Host k8s-worker-*\n    HostName 192.0.2.7\n")
    options = SSHOptions(config_files=(str(config),), node_addresses={NODE.name: "203.0.113.9"})
    assert SSHPool(options).address_of(NODE) == "203.0.113.9"
