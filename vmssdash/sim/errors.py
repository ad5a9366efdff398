"""ARM error responses the simulator raises from anywhere and the app turns into JSON.

Codes and messages copy what Azure sends (reference §7) so clients see the same text
they will see in production. ``Retry-After`` only ever rides on 429/503 (azure-core
retries any error response that carries it).
"""

from __future__ import annotations

from typing import Any


class SimError(Exception):
    """An ARM error envelope with its HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        omit_details: bool = False,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.headers = headers or {}
        self.omit_details = omit_details

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            err["target"] = self.target
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


def invalid_parameter(message: str, target: str | None = None) -> SimError:
    return SimError(400, "InvalidParameter", message, target=target)


def conflict_concurrent() -> SimError:
    return SimError(
        409,
        "Conflict",
        "The request failed due to conflict with a concurrent request. "
        "Conflict with concurrent request.",
    )


def vm_being_deleted(operation: str, vm_name: str) -> SimError:
    return SimError(
        409,
        "OperationNotAllowed",
        f"Operation '{operation}' is not allowed on VM '{vm_name}' since the VM is marked "
        "for deletion. You can only retry the Delete operation (or wait for an ongoing one "
        "to complete).",
    )


def vm_not_found() -> SimError:
    return SimError(404, "NotFound", "The entity was not found in this Azure location.")


def precondition_failed(provided: str, current: str) -> SimError:
    return SimError(
        412,
        "PreconditionFailed",
        f"Etag provided in if-match header {provided} does not match etag {current} of resource.",
    )
