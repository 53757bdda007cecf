"""The mark kataview's embedded demo puts on its nodes, and what it means for SSH.

A demo node's addresses (192.168.122.x in the classic scenario) are for show: its SSH side is
the demo's SSH node on 127.0.0.1, reached through the ssh config the demo writes. So the SSH
layer dials a marked node only on loopback and otherwise refuses, saying where it answers.
The mark can only ever make kataview refuse a dial, never send one elsewhere, so a cluster
that sets it on a real node loses nothing but that node's VM panel.
"""

from __future__ import annotations

DEMO_NODE_ANNOTATION = "kataview.io/demo-node"
DEMO_NODE_NOTE = "SSH on loopback only, through the ssh config kataview demo writes"


def is_demo_node(node) -> bool:
    return DEMO_NODE_ANNOTATION in node.annotations
