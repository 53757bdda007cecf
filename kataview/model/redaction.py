"""Credentials kept out of every text kataview writes (log file, stderr, the screen).

    register_secret(token)        # once known: a kubeconfig token, a password, an exec output
    redact(text)                  # -> text with <redacted> in their place

`redact` replaces: PEM private key blocks; `Bearer`/`Basic` credentials; the value of a
secret-looking key in `key: value`, `key=value` and JSON forms (`"refresh_token": "..."`),
and in `key value` form when the value looks like a credential (12+ token characters, e.g.
`refresh_token 1//0gX...` from an exec plugin's stderr); the password of URL userinfo
(`https://user:pass@host`); and every registered literal value, wherever it appears (a server
that echoes the token in its error body). Pure, stdlib only: the kube layer registers what
it reads from a kubeconfig, the log and the terminal sinks redact.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"
MIN_SECRET = 6  # shorter values would redact ordinary words

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)",
                  re.DOTALL)
_AUTH = re.compile(r"(?i)\b(Bearer|Basic)(\s+|%20)[A-Za-z0-9._~+/=:-]+")
_KEY = r"[\w.-]*(?:token|password|passwd|secret|client-key-data|private[-_]?key)"
_FIELD = re.compile(
    rf"""(?ix)
    (?P<key>["']?{_KEY}["']?\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>[^\s"',}}\]]+)""")
_SPACED = re.compile(rf"(?i)(?P<key>\b{_KEY}\s+)(?P<value>[A-Za-z0-9._~+/=-]{{12,}})")
_USERINFO = re.compile(r"(?i)\b(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/\s:@]*):(?P<password>[^/\s@]+)@")
_SECRETS: set[str] = set()


def register_secret(value: object) -> None:
    """A literal value (a token, a password, key data) never to be written anywhere."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        value = value.strip()
        if value.lower().startswith(("bearer ", "basic ")):
            value = value.split(None, 1)[1].strip()
        if len(value) >= MIN_SECRET:
            _SECRETS.add(value)


def redact(text: str) -> str:
    """The text with credentials replaced by <redacted>."""
    if not text:
        return text
    for secret in _SECRETS:  # first: the patterns below would leave a long token's tail
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _PEM.sub(lambda m: f"-----BEGIN {m.group(1)}PRIVATE KEY----- {REDACTED} "
                              f"-----END {m.group(1)}PRIVATE KEY-----", text)
    text = _AUTH.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{REDACTED}@", text)
    text = _FIELD.sub(lambda m: m.group("key") + m.group("quote") + REDACTED
                      if m.group("value") != REDACTED else m.group(0), text)
    text = _SPACED.sub(lambda m: m.group("key") + REDACTED, text)
    return text
