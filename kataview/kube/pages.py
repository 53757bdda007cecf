"""Helpers of the paginated LIST: the continue token read from a page's head, and the cyclic
GC held off while pages are decoded."""

from __future__ import annotations

import gc
from contextlib import contextmanager

import msgspec

from .api_types import Base, ListMeta


class ListHead(Base):
    metadata: ListMeta | None = None


_decode_head = msgspec.json.Decoder(ListHead).decode


def continue_token(data: bytes) -> str:
    """The continue token of a LIST page, without decoding its items: the API server writes
    the list metadata before "items", so the head alone is tried first (~µs), then the whole
    body (msgspec skips the items without building them, ~1 ms per MB). "" when the body is
    not a list at all: decode_list reports that."""
    cut = data.find(b'"items"')
    if cut > 0:
        try:
            head = _decode_head(data[:cut] + b'"items":null}')
            return (head.metadata.continue_ or "") if head.metadata else ""
        except (msgspec.DecodeError, msgspec.ValidationError):
            pass
    try:
        head = _decode_head(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""
    return (head.metadata.continue_ or "") if head.metadata else ""


def body_kind(data: bytes, error: Exception) -> str:
    """What a LIST body that is no list is, in a few words: what a proxy or a half-closed
    connection typically sends instead."""
    size = f"{len(data):,} bytes"
    head = data[:512].lstrip().lower()
    if not head:
        return "an empty body"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return f"an HTML page ({size})"
    if "truncated" in str(error).lower():
        return f"JSON cut short ({size})"
    if head.startswith((b"{", b"[")) and "expected" in str(error):
        return f"JSON that is not a list object ({size}: {error})"
    return f"a body that is not JSON ({size})"


_gc_holds = 0
_gc_was_enabled = False


@contextmanager
def gc_held():
    """Keep the cyclic GC off while lists are being decoded, across pages and across the
    informers listing at the same time (a count, not a flag): with it on, decoding 150,000
    pods triggers collections that rescan every record built so far. Records are acyclic;
    refcounting frees them as usual."""
    global _gc_holds, _gc_was_enabled
    if _gc_holds == 0:
        _gc_was_enabled = gc.isenabled()
        gc.disable()
    _gc_holds += 1
    try:
        yield
    finally:
        _gc_holds -= 1
        if _gc_holds == 0 and _gc_was_enabled:
            gc.enable()
