"""The watch-list (streaming list): one WATCH that first sends every object as ADDED, then a
BOOKMARK annotated ``k8s.io/initial-events-end: "true"`` at the resourceVersion the initial
state is consistent at, then carries on as a normal watch.

    GET ...?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan
           &allowWatchBookmarks=true

What kube-apiserver v1.37.2 does with it (read in k8s.io/apiserver and apimachinery v0.37.2):
- the WatchList feature gate is beta and on by default since 1.34 (it was off in 1.33);
- with the gate off, validation refuses the request before any watch starts: 422 Invalid,
  ``ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is
  forbidden for watch unless the WatchList feature gate is enabled``
  (internalversion/validation.validateWatchOptions, handlers/get.go listOpts);
- sendInitialEvents needs resourceVersionMatch=NotOlderThan (else 422 as well); with the
  resourceVersion unset the watch cache first waits until it is as fresh as etcd (a
  consistent read, storage/cacher getWatchCacheResourceVersion), then sends its whole state
  (also with --watch-cache=false: the etcd3 watcher lists, then sends the bookmark);
- the end bookmark is only sent with allowWatchBookmarks=true.

kataview falls back to the paginated list when the server refuses (400/422) or ends the
stream before the end bookmark (a server that ignores the parameters would only send
changes), as client-go's reflector does, and does not ask that server again.
"""

from __future__ import annotations

from .errors import ApiError, KubeError

INITIAL_EVENTS_QUERY: dict[str, str] = {
    "watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
    "allowWatchBookmarks": "true"}


class WatchListRefused(KubeError):
    """The server does not serve the watch-list: list page by page instead."""


def refusal(error: BaseException) -> WatchListRefused | None:
    """A WatchListRefused when this error means "not supported here", else None (a 403, 429,
    5xx or a broken connection is handled as for any watch)."""
    if isinstance(error, ApiError) and error.status in (400, 422):
        return WatchListRefused(f"the server refused the watch-list (HTTP {error.status}: "
                                f"{error}); listing page by page instead")
    return None
