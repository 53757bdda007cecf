"""Single-object reads by API path (the guided setup's GETs), beside writer.py's changes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from .errors import NotFound
from .transport import KubeTransport


def node_path(node: str) -> str:
    return f"/api/v1/nodes/{quote(node, safe='')}"


async def get_object(transport: KubeTransport, path: str) -> dict[str, Any] | None:
    """The object at ``path`` as JSON, or None when the server answers 404."""
    try:
        return json.loads(await transport.get_json_bytes(path))
    except NotFound:
        return None
