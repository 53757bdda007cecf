"""`Status` objects the way the real apiserver words them (k8s.io/apimachinery/pkg/api/errors)."""

from __future__ import annotations

from .resources import Resource

CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list.")


def status(code: int, reason: str, message: str, details: dict | None = None,
           metadata: dict | None = None) -> dict:
    result = {"kind": "Status", "apiVersion": "v1", "metadata": metadata or {},
              "status": "Failure", "message": message, "reason": reason}
    if details is not None:
        result["details"] = details
    result["code"] = code
    return result


def _details(resource: Resource | None, name: str | None = None) -> dict:
    details: dict = {}
    if name:
        details["name"] = name
    if resource is not None:
        if resource.group:
            details["group"] = resource.group
        details["kind"] = resource.plural
    return details


def unauthorized() -> dict:
    return status(401, "Unauthorized", "Unauthorized")


def forbidden(user: str, verb: str, resource: Resource, namespace: str | None,
              name: str | None = None) -> dict:
    subject = f'{resource.qualified} "{name}"' if name else resource.qualified
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource.plural}" '
               f'in API group "{resource.group}" {scope}')
    return status(403, "Forbidden", message, _details(resource, name))


def not_found(resource: Resource | None, name: str | None = None) -> dict:
    if resource is None:
        return status(404, "NotFound", "the server could not find the requested resource", {})
    return status(404, "NotFound", f'{resource.qualified} "{name}" not found',
                  _details(resource, name))


def already_exists(resource: Resource, name: str) -> dict:
    return status(409, "AlreadyExists", f'{resource.qualified} "{name}" already exists',
                  _details(resource, name))


def conflict(resource: Resource, name: str) -> dict:
    return status(409, "Conflict", f'Operation cannot be fulfilled on {resource.qualified} "{name}": '
                  "the object has been modified; please apply your changes to the latest version "
                  "and try again", _details(resource, name))


def invalid(resource: Resource, name: str, field: str, why: str) -> dict:
    details = {**_details(resource, name), "causes": [
        {"reason": "FieldValueRequired" if "Required" in why else "FieldValueInvalid",
         "message": why, "field": field}]}
    details["kind"] = resource.kind
    return status(422, "Invalid", f'{resource.kind} "{name}" is invalid: {field}: {why}', details)


def invalid_list_options(errors: list[tuple[str, str]]) -> dict:
    """422 for query parameters that fail ListOptions validation, as NewInvalid words it:
    errors are (field, detail) pairs of field.Forbidden errors."""
    texts = [f"{field}: Forbidden: {detail}" for field, detail in errors]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    causes = [{"reason": "FieldValueForbidden", "message": f"Forbidden: {detail}", "field": field}
              for field, detail in errors]
    return status(422, "Invalid", f'ListOptions.meta.k8s.io "" is invalid: {joined}',
                  {"group": "meta.k8s.io", "kind": "ListOptions", "causes": causes})


def bad_request(message: str) -> dict:
    return status(400, "BadRequest", message)


def expired(message: str, metadata: dict | None = None) -> dict:
    return status(410, "Expired", message, metadata=metadata)


def too_many_requests(retry_after: int) -> dict:
    return status(429, "TooManyRequests", "Too many requests, please try again later.",
                  {"retryAfterSeconds": retry_after})


def internal_error(code: int, message: str) -> dict:
    reasons = {500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
    reason = reasons.get(code, "InternalError")
    text = f"Internal error occurred: {message}" if reason == "InternalError" else message
    return status(code, reason, text, {"causes": [{"message": message}]})


def method_not_allowed() -> dict:
    return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
