"""Admission webhooks (controller-runtime's ``pkg/webhook/admission``).

An :class:`Admission` serves one path: it reads an ``AdmissionReview`` (``admission.k8s.io``
``v1`` or ``v1beta1``, answered in the version asked), hands the request to an
:class:`AdmissionHandler` and writes its :class:`AdmissionResponse`. Two handlers cover what
controller-runtime's builder makes:

* :class:`DefaulterHandler` (mutating): the defaulter gets a copy of the object and returns
  it defaulted (or defaults it in place and returns None); the answer is the JSON patch from
  the object the API server sent to the defaulted one (``patchType: JSONPatch``). DELETE is
  allowed untouched.
* :class:`ValidatorHandler` (validating): ``validate_create(obj, req)``,
  ``validate_update(old, new, req)``, ``validate_delete(old, req)`` return warnings; raising
  refuses the request.

Refusals, as in c-r: an :class:`AdmissionError` gives its code, reason, message and causes; any
other exception is denied with ``403 Forbidden`` and ``str(exc)`` as the message (c-r's
``Denied(err.Error())``); an exception with a ``field`` attribute (e.g. a validation error
naming a JSON path) also gets a ``details.causes`` entry for it, and its ``warnings``
attribute is passed back. An exception that is not a refusal (a bug: not a ``ValueError``,
``LookupError`` or :class:`AdmissionError`) is logged with its traceback and counted in
``controller_runtime_webhook_panics_total``, and still answered with an admission refusal:
never an HTTP 500, never a crash.

Request-level problems differ from c-r on purpose: c-r writes them inside an HTTP 200
response; here the HTTP status is the problem's code as well (400 for an empty, non-JSON or
malformed review or a wrong ``Content-Type``, 413 for a body over :data:`MAX_REQUEST_BYTES`),
with the same ``AdmissionReview`` body naming the reason. The API server never sends such
requests; other clients get an honest status.
"""

from __future__ import annotations

import base64
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable

import msgspec

from runtime import metrics
from runtime.webhook.http import HTTPRequest, HTTPResponse
from runtime.webhook.jsonpatch import create_patch

__all__ = [
    "ADMISSION_VERSIONS",
    "MAX_REQUEST_BYTES",
    "Admission",
    "AdmissionError",
    "AdmissionHandler",
    "AdmissionRequest",
    "AdmissionResponse",
    "Defaulter",
    "DefaulterHandler",
    "ReviewError",
    "Validator",
    "ValidatorHandler",
    "Warnings",
    "allowed",
    "decode_review",
    "denied",
    "encode_review",
    "errored",
    "patch_response",
    "response_for_error",
]

log = logging.getLogger("runtime.webhook.admission")

MAX_REQUEST_BYTES = 7 * 1024 * 1024
"""controller-runtime's ``maxRequestSize`` (``pkg/webhook/admission/http.go``): two objects
of at most 3 MiB (the API server's request limit) and 1 MiB for the rest."""

ADMISSION_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")

Warnings: TypeAlias = Sequence[str] | None
JSON = dict[str, Any]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


# --------------------------------------------------------------------------- request/response


@dataclass(slots=True)
class AdmissionRequest:
    """An ``AdmissionReview``'s ``request`` (field names snake_cased; objects as JSON)."""

    uid: str
    operation: str
    kind: JSON = field(default_factory=dict)
    resource: JSON = field(default_factory=dict)
    sub_resource: str = ""
    name: str = ""
    namespace: str = ""
    user_info: JSON = field(default_factory=dict)
    object: JSON | None = None
    old_object: JSON | None = None
    dry_run: bool = False
    options: JSON | None = None
    raw: JSON = field(default_factory=dict)


@dataclass(slots=True)
class AdmissionResponse:
    """What a handler answers (``AdmissionResponse`` with its ``status``)."""

    allowed: bool
    code: int = 200
    reason: str = ""
    message: str = ""
    patch: list[JSON] | None = None
    warnings: list[str] = field(default_factory=list)
    audit_annotations: dict[str, str] | None = None
    causes: list[JSON] | None = None

    def with_warnings(self, warnings: Warnings) -> AdmissionResponse:
        if warnings:
            self.warnings.extend(str(w) for w in warnings)
        return self

    def to_dict(self, uid: str) -> JSON:
        status: JSON = {"metadata": {}, "code": self.code}
        if not self.allowed:
            status["status"] = "Failure"
        if self.reason:
            status["reason"] = self.reason
        if self.message:
            status["message"] = self.message
        if self.causes:
            status["details"] = {"causes": self.causes}
        out: JSON = {"uid": uid, "allowed": self.allowed, "status": status}
        if self.patch:
            out["patchType"] = "JSONPatch"
            out["patch"] = base64.b64encode(_encoder.encode(self.patch)).decode("ascii")
        if self.warnings:
            out["warnings"] = self.warnings
        if self.audit_annotations:
            out["auditAnnotations"] = self.audit_annotations
        return out


def allowed(message: str = "") -> AdmissionResponse:
    return AdmissionResponse(True, 200, "", message)


def denied(message: str, *, code: int = 403, reason: str = "Forbidden") -> AdmissionResponse:
    return AdmissionResponse(False, code, reason, message)


def errored(code: int, message: str) -> AdmissionResponse:
    return AdmissionResponse(False, code, "", message)


def patch_response(original: Any, current: Any) -> AdmissionResponse:
    """Allowed, with the JSON patch from ``original`` to ``current`` (none if equal)."""
    ops = create_patch(original, current)
    return AdmissionResponse(True, 200, patch=ops or None)


class AdmissionError(Exception):
    """Refuse a request with this code, reason and message (c-r: an error implementing
    ``APIStatus``). ``field`` adds a ``details.causes`` entry."""

    def __init__(
        self,
        message: str,
        *,
        code: int = 403,
        reason: str = "Forbidden",
        field: str = "",
        warnings: Warnings = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.field = field
        self.warnings = list(warnings or [])


def _cause(exc: BaseException) -> list[JSON] | None:
    path = getattr(exc, "field", None)
    if not isinstance(path, str) or not path:
        return None
    reason = getattr(exc, "reason", None)
    msg = reason if isinstance(reason, str) and reason else str(exc)
    return [{"reason": "FieldValueInvalid", "message": msg, "field": path}]


def response_for_error(exc: BaseException) -> AdmissionResponse:
    """The refusal for an exception a handler raised (see the module docstring)."""
    warnings = getattr(exc, "warnings", None)
    if isinstance(exc, AdmissionError):
        resp = AdmissionResponse(False, exc.code, exc.reason, exc.message, causes=_cause(exc))
    else:
        if not isinstance(exc, ValueError | LookupError):
            metrics.WEBHOOK_PANICS_TOTAL.inc()
            log.error("admission handler failed", exc_info=exc)
            text = f"internal error in admission webhook: {type(exc).__name__}: {exc}"
        else:
            text = str(exc) or type(exc).__name__
        resp = denied(text)
        resp.causes = _cause(exc)
    if isinstance(warnings, list | tuple):
        resp.with_warnings([str(w) for w in warnings])
    return resp


# --------------------------------------------------------------------------- review codec


class ReviewError(Exception):
    """A request that is not a usable AdmissionReview (answered with ``code``)."""

    def __init__(self, code: int, message: str, uid: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.uid = uid


def _field(obj: Mapping[str, Any], key: str, tp: type, path: str, default: Any) -> Any:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, tp):
        what = {dict: "an object", str: "a string", bool: "a boolean"}.get(tp, tp.__name__)
        raise ReviewError(400, f"{path}.{key}: expected {what}")
    return value


def decode_review(body: bytes, content_type: str | None) -> tuple[str, AdmissionRequest]:
    """(apiVersion, request) from an HTTP body; :class:`ReviewError` (400) when it is not an
    AdmissionReview we can answer, naming what is wrong."""
    if not body:
        raise ReviewError(400, "request body is empty")
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        raise ReviewError(400, f"contentType={content_type or ''}, expected application/json")
    try:
        doc = _decoder.decode(body)
    except msgspec.DecodeError as err:
        raise ReviewError(400, f"unable to decode the request: {err}") from None
    if not isinstance(doc, dict):
        raise ReviewError(400, "unable to decode the request: expected a JSON object")
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not kind:
        raise ReviewError(400, "Object 'Kind' is missing in the request body")
    if kind != "AdmissionReview" or api_version not in ADMISSION_VERSIONS:
        raise ReviewError(
            400,
            f'no kind "{kind}" is registered for version "{api_version}" (expected '
            f"AdmissionReview in {' or '.join(ADMISSION_VERSIONS)})",
        )
    r = doc.get("request")
    if not isinstance(r, dict):
        raise ReviewError(400, "request: an AdmissionReview must carry a request object")
    uid = _field(r, "uid", str, "request", "")
    try:
        op = _field(r, "operation", str, "request", "")
        if op not in OPERATIONS:
            raise ReviewError(400, f"request.operation: unknown operation {op!r}")
        req = AdmissionRequest(
            uid=uid,
            operation=op,
            kind=_field(r, "kind", dict, "request", {}),
            resource=_field(r, "resource", dict, "request", {}),
            sub_resource=_field(r, "subResource", str, "request", ""),
            name=_field(r, "name", str, "request", ""),
            namespace=_field(r, "namespace", str, "request", ""),
            user_info=_field(r, "userInfo", dict, "request", {}),
            object=_field(r, "object", dict, "request", None),
            old_object=_field(r, "oldObject", dict, "request", None),
            dry_run=_field(r, "dryRun", bool, "request", False),
            options=_field(r, "options", dict, "request", None),
            raw=r,
        )
    except ReviewError as err:
        err.uid = uid
        raise
    return str(api_version), req


def encode_review(api_version: str, uid: str, resp: AdmissionResponse) -> bytes:
    return _encoder.encode(
        {"apiVersion": api_version, "kind": "AdmissionReview", "response": resp.to_dict(uid)}
    )


_JSON_HEADERS = {"Content-Type": "application/json"}


def _review_response(status: int, api_version: str, uid: str, resp: AdmissionResponse) -> (
    HTTPResponse
):
    return HTTPResponse(status, encode_review(api_version, uid, resp), _JSON_HEADERS)


# --------------------------------------------------------------------------- handlers


@runtime_checkable
class AdmissionHandler(Protocol):
    """c-r's ``admission.Handler``."""

    async def handle(self, req: AdmissionRequest) -> AdmissionResponse: ...


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    out = fn(*args)
    if inspect.isawaitable(out):
        out = await out
    return out


def _copy(obj: Any) -> Any:
    return _decoder.decode(_encoder.encode(obj))


Defaulter = Callable[[JSON, AdmissionRequest], JSON | Awaitable[JSON | None] | None]
"""(a copy of the object, request) -> the defaulted object, or None after defaulting it in
place."""


def _wrong_kind(kind: str | None, *objects: JSON | None) -> AdmissionResponse | None:
    """c-r's decoder refuses an object of another kind than the handler's type (400)."""
    if kind is None:
        return None
    for obj in objects:
        got = obj.get("kind") if obj is not None else None
        if got is not None and got != kind:
            return errored(400, f"expected {kind}, got {got}")
    return None


class DefaulterHandler:
    """Mutating handler over a :data:`Defaulter` (c-r ``defaulterForType``). With ``kind``,
    an object of another kind is refused (400), as c-r's typed decoding does."""

    def __init__(self, defaulter: Defaulter, *, kind: str | None = None) -> None:
        self.defaulter = defaulter
        self.kind = kind

    async def handle(self, req: AdmissionRequest) -> AdmissionResponse:
        if req.operation == "DELETE":
            return allowed()
        if req.object is None:
            return errored(400, "request.object: there is no content to decode")
        wrong = _wrong_kind(self.kind, req.object)
        if wrong is not None:
            return wrong
        work = _copy(req.object)
        try:
            out = await _call(self.defaulter, work, req)
        except Exception as exc:
            return response_for_error(exc)
        return patch_response(req.object, work if out is None else out)


class Validator:
    """Validation callbacks by operation (c-r ``CustomValidator``); a missing one allows."""

    def __init__(
        self,
        create: Callable[[JSON, AdmissionRequest], Any] | None = None,
        update: Callable[[JSON, JSON, AdmissionRequest], Any] | None = None,
        delete: Callable[[JSON, AdmissionRequest], Any] | None = None,
    ) -> None:
        self._create, self._update, self._delete = create, update, delete

    def validate_create(self, obj: JSON, req: AdmissionRequest) -> Any:
        return self._create(obj, req) if self._create else None

    def validate_update(self, old: JSON, new: JSON, req: AdmissionRequest) -> Any:
        return self._update(old, new, req) if self._update else None

    def validate_delete(self, obj: JSON, req: AdmissionRequest) -> Any:
        return self._delete(obj, req) if self._delete else None


class ValidatorHandler:
    """Validating handler (c-r ``validatorForType``). ``validator`` has any of
    ``validate_create(obj, req)``, ``validate_update(old, new, req)``,
    ``validate_delete(old, req)``, sync or async, returning warnings (or None). With
    ``kind``, objects of another kind are refused (400)."""

    def __init__(self, validator: Any, *, kind: str | None = None) -> None:
        self.validator = validator
        self.kind = kind

    async def handle(self, req: AdmissionRequest) -> AdmissionResponse:
        v = self.validator
        op = req.operation
        wrong = _wrong_kind(self.kind, req.object, req.old_object)
        if wrong is not None:
            return wrong
        try:
            if op == "CONNECT":
                return allowed()
            if op == "CREATE":
                if req.object is None:
                    return errored(400, "request.object: there is no content to decode")
                fn = getattr(v, "validate_create", None)
                warnings = await _call(fn, req.object, req) if fn else None
            elif op == "UPDATE":
                if req.object is None or req.old_object is None:
                    return errored(400, "request.object and request.oldObject are required for "
                                        "UPDATE")
                fn = getattr(v, "validate_update", None)
                warnings = await _call(fn, req.old_object, req.object, req) if fn else None
            else:  # DELETE: the object being deleted is oldObject
                if req.old_object is None:
                    return errored(400, "request.oldObject: there is no content to decode")
                fn = getattr(v, "validate_delete", None)
                warnings = await _call(fn, req.old_object, req) if fn else None
        except Exception as exc:
            return response_for_error(exc)
        return allowed().with_warnings(warnings)


class _Func:
    def __init__(self, fn: Callable[[AdmissionRequest], Any]) -> None:
        self.fn = fn

    async def handle(self, req: AdmissionRequest) -> AdmissionResponse:
        out = await _call(self.fn, req)
        if not isinstance(out, AdmissionResponse):
            raise TypeError(f"admission handler returned {type(out).__name__}, not a response")
        return out


class Admission:
    """One admission path (c-r ``admission.Webhook``): HTTP in, AdmissionReview out."""

    def __init__(self, handler: AdmissionHandler | Callable[[AdmissionRequest], Any]) -> None:
        self.handler: AdmissionHandler = (
            handler if isinstance(handler, AdmissionHandler) else _Func(handler)
        )

    async def handle(self, req: AdmissionRequest) -> AdmissionResponse:
        """Run the handler; any exception becomes a refusal (c-r's panic recovery)."""
        try:
            return await self.handler.handle(req)
        except Exception as exc:
            return response_for_error(exc)

    async def serve(self, request: HTTPRequest) -> HTTPResponse:
        try:
            api_version, req = decode_review(request.body, request.headers.get("content-type"))
        except ReviewError as err:
            log.info("bad admission request: %s", err, extra={"path": request.path})
            return _review_response(err.code, ADMISSION_VERSIONS[0], err.uid,
                                    errored(err.code, str(err)))
        resp = await self.handle(req)
        return _review_response(200, api_version, req.uid, resp)

    @staticmethod
    def too_large(request: HTTPRequest, limit: int) -> HTTPResponse:
        msg = f"request entity is too large; limit is {limit} bytes"
        return _review_response(413, ADMISSION_VERSIONS[0], "", errored(413, msg))
