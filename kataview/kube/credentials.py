"""Every credential kataview takes from a kubeconfig is registered for redaction, and a
server URL's userinfo never travels as part of the URL.

- `register_credentials(configuration, user)`: the client's Configuration after loading (the
  bearer token, whether written inline, read from tokenFile, returned by an exec plugin or an
  auth-provider; a username's password) plus the kubeconfig's user entry (token, password,
  client-key-data, auth-provider config such as id-token, refresh-token, client-secret).
  The transport registers each token it sends again, so an exec plugin's renewed token is
  covered too.
- `split_userinfo(url)`: `https://user:pass@host:6443` -> (`https://host:6443`, user, pass).
  aiohttp refuses credentials in the URL together with an Authorization header (a traceback
  before), and the URL is shown and logged: the password is taken out and registered.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from kataview.model.redaction import register_secret

USER_SECRET_KEYS = ("token", "password", "client-key-data", "client-certificate-data")


def register_credentials(configuration: Any, user: Any = None) -> None:
    api_key = getattr(configuration, "api_key", None) or {}
    for value in api_key.values():
        register_secret(value)
    register_secret(getattr(configuration, "password", None))
    entry = _plain(user)
    if not isinstance(entry, dict):
        return
    for key in USER_SECRET_KEYS:
        register_secret(entry.get(key))
    provider = _plain(entry.get("auth-provider")) or {}
    for value in (_plain(provider.get("config")) or {}).values():
        if isinstance(value, str):
            register_secret(value)


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """(url without userinfo, username, password); the password is registered."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    username, password = unquote(username), unquote(password)
    register_secret(password)
    return urlunsplit(parts._replace(netloc=host)), username or None, password or None


def _plain(node: Any) -> Any:
    # the client's KubeConfigMerger wraps entries in ConfigNode objects (`.value`)
    return getattr(node, "value", node)
