"""Typed errors of the Kubernetes layer. Every message is one line an operator can act on."""

from __future__ import annotations


def one_line(text: str) -> str:
    """Collapse whitespace and newlines so a message prints as one line."""
    return " ".join(str(text).split())


class KubeError(Exception):
    """Base of every error raised by kataview.kube."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))

    @property
    def message(self) -> str:
        return str(self)


class KubeConfigError(KubeError):
    """The kubeconfig (or in-cluster setup) cannot be used: missing file, bad YAML, unknown
    context. The CLI prints str(error) and exits 2."""


class ReadOnlyViolation(KubeError):
    """A mutating verb was attempted on a read-only transport. Nothing was sent."""


class KubeUnreachable(KubeError):
    """The API server could not be reached, or the connection broke mid-request."""

    def __init__(self, message: str, server: str = "") -> None:
        super().__init__(message)
        self.server = server


class ServerSilent(KubeUnreachable):
    """The server sent nothing for longer than the read timeout (a black-holed connection)."""


class BadListBody(KubeError):
    """The server (or a proxy) answered a LIST with 200 and a body that is no list: HTML,
    JSON cut short, not JSON at all."""


class WatchEndedEarly(KubeError):
    """The server accepted a watch and ended it within a second without a single event
    (client-go: "very short watch"); counts as a failure, so it backs off."""


class WatchIdle(KubeError):
    """A watch sent no event and no bookmark for two bookmark intervals: treated as dead."""


class KubeTLSError(KubeUnreachable):
    """The TLS handshake failed (unknown CA, wrong host name, bad client certificate)."""


class ApiError(KubeError):
    """The API server answered with an HTTP error status."""

    status: int = 0

    def __init__(self, status: int, message: str, path: str = "", resource: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.path = path
        self.resource = resource


class Unauthorized(ApiError):
    """401: the credentials were refused (expired token, wrong certificate)."""


class Forbidden(ApiError):
    """403: RBAC denies this verb on self.resource."""


class NotFound(ApiError):
    """404: the object or the API group/version does not exist."""


class Conflict(ApiError):
    """409: the object changed meanwhile (resourceVersion precondition) or already exists."""


class Gone(ApiError):
    """410: the requested resourceVersion is too old; the caller must relist."""


class TooManyRequests(ApiError):
    """429: the server asks the client to slow down for retry_after seconds."""

    def __init__(self, status: int, message: str, path: str = "", resource: str = "",
                 retry_after: float = 1.0) -> None:
        super().__init__(status, message, path, resource)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the API server (or a proxy in front of it) failed."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
}


def api_error(status: int, message: str, path: str = "", resource: str = "",
              retry_after: float | None = None) -> ApiError:
    """The typed ApiError for an HTTP status."""
    if status == 429:
        return TooManyRequests(status, message, path, resource,
                               retry_after=1.0 if retry_after is None else retry_after)
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    return cls(status, message, path, resource)
