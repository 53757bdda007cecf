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
