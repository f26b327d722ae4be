"""Typed domain errors. Each carries a zh-CN message for users and, where one applies, the article
of the measures (第N条) and the field it concerns; the HTTP layer maps the class to a status code."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class GovflowError(Exception):
    """Base class: `message` is shown to users as is (zh-CN)."""

    code = "error"

    def __init__(self, message: str, *, article: str | None = None, field: str | None = None,
                 details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.article = article
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.article:
            out["article"] = self.article
        if self.field:
            out["field"] = self.field
        if self.details is not None:
            out["details"] = self.details
        return out


class NotFound(GovflowError):
    code = "not_found"


class Forbidden(GovflowError):
    code = "forbidden"


class Conflict(GovflowError):
    """Someone else changed the same thing first (HTTP 409)."""

    code = "conflict"


class RuleViolation(GovflowError):
    """A rule of the measures forbids the action (HTTP 422 with the article)."""

    code = "rule_violation"


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class ValidationFailed(GovflowError):
    code = "validation_failed"

    def __init__(self, errors: list[FieldError], message: str = "表单数据不符合要求") -> None:
        super().__init__(message, details=[e.to_dict() for e in errors])
        self.errors = errors


class BadField(ValidationFailed):
    """HTTP 400: a field of a request that is not a task form (an e-mail address, a phone number)
    is malformed; 422 stays for forms and the measures' rules."""

    code = "bad_request"


@dataclass
class BundleRejected(GovflowError):
    """A BPMN/DMN bundle failed deploy-time validation; `issues` name element and line."""

    issues: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        GovflowError.__init__(self, "流程定义校验未通过", details=self.issues)

    code = "bundle_rejected"


class ProcessError(GovflowError):
    """The process definition failed while running (script limit, bad expression): nothing was saved."""

    code = "process_error"
