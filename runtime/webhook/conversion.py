"""The CRD conversion webhook (controller-runtime's ``pkg/webhook/conversion``, served at
``/convert``).

The API server posts a ``ConversionReview`` (``apiextensions.k8s.io/v1``, or ``v1beta1``,
answered in the version asked) with ``desiredAPIVersion`` and a list of objects; the answer
carries the converted objects in the same order, or ``result.status: Failure`` with the
reason (HTTP 200, as c-r: the API server reports it to the client). Converters are
registered per group and kind: ``convert(obj, desired_api_version) -> obj``, pure functions
over the JSON shape (c-r's hub-and-spoke is one way to write them). An object already in the
desired version is passed through. A body that is not a ConversionReview is answered with
HTTP 400 naming the problem.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from runtime import metrics
from runtime.webhook.http import HTTPRequest, HTTPResponse

__all__ = ["CONVERSION_VERSIONS", "ConversionError", "ConversionWebhook", "Converter"]

log = logging.getLogger("runtime.webhook.conversion")

CONVERSION_VERSIONS = ("apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1")

JSON = dict[str, Any]
Converter = Callable[[JSON, str], JSON | Awaitable[JSON]]
"""(object, desired apiVersion) -> the converted object."""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_HEADERS = {"Content-Type": "application/json"}


class ConversionError(Exception):
    """A conversion the converter refuses (reported as ``result.status: Failure``)."""


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


class ConversionWebhook:
    """Converters by (group, kind); serves ``ConversionReview`` requests."""

    def __init__(self) -> None:
        self._converters: dict[tuple[str, str], Converter] = {}

    def register(self, group: str, kind: str, converter: Converter) -> None:
        key = (group, kind)
        if key in self._converters:
            raise ValueError(f"a converter for {kind}.{group} is already registered")
        self._converters[key] = converter

    def converts(self, group: str, kind: str) -> bool:
        return (group, kind) in self._converters

    async def convert(self, obj: Any, desired: str) -> JSON:
        if not isinstance(obj, dict):
            raise ConversionError("objects: every item must be an object")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
            raise ConversionError("objects: every object needs apiVersion and kind")
        if api_version == desired:
            return obj
        if _group(api_version) != _group(desired):
            raise ConversionError(
                f"cannot convert {kind} from {api_version} to {desired}: different groups"
            )
        conv = self._converters.get((_group(api_version), kind))
        if conv is None:
            raise ConversionError(f"no conversion registered for {kind}.{_group(api_version)}")
        out = conv(obj, desired)
        if inspect.isawaitable(out):
            out = await out
        if not isinstance(out, dict):
            raise ConversionError(f"the {kind} converter returned {type(out).__name__}")
        out["apiVersion"] = desired
        return out

    async def serve(self, request: HTTPRequest) -> HTTPResponse:
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        try:
            if ctype != "application/json":
                raise ConversionError(f"contentType={ctype}, expected application/json")
            doc = _decoder.decode(request.body) if request.body else None
            if not isinstance(doc, dict) or doc.get("kind") != "ConversionReview" or (
                doc.get("apiVersion") not in CONVERSION_VERSIONS
            ):
                raise ConversionError(
                    "expected a ConversionReview (apiextensions.k8s.io/v1 or v1beta1)")
            req = doc.get("request")
            if not isinstance(req, dict):
                raise ConversionError("request: a ConversionReview must carry a request")
            uid, desired, objects = req.get("uid"), req.get("desiredAPIVersion"), req.get(
                "objects")
            if not isinstance(uid, str) or not isinstance(desired, str) or not desired:
                raise ConversionError("request: uid and desiredAPIVersion are required")
            if objects is not None and not isinstance(objects, list):
                raise ConversionError("request.objects: expected a list")
        except (ConversionError, msgspec.DecodeError) as err:
            log.info("bad conversion request: %s", err)
            return HTTPResponse(400, f"{err}\n".encode(), {"Content-Type": "text/plain"})
        converted: list[JSON] = []
        result: JSON = {"metadata": {}, "status": "Success"}
        try:
            for obj in objects or []:
                converted.append(await self.convert(obj, desired))
        except Exception as err:
            if not isinstance(err, ConversionError | ValueError):
                metrics.CONVERSION_WEBHOOK_PANICS_TOTAL.inc()
                log.error("conversion failed", exc_info=err)
            converted = []
            result = {"metadata": {}, "status": "Failure", "message": str(err)}
        body = {
            "apiVersion": doc["apiVersion"],
            "kind": "ConversionReview",
            "response": {"uid": uid, "convertedObjects": converted, "result": result},
        }
        return HTTPResponse(200, _encoder.encode(body), _HEADERS)

    @staticmethod
    def too_large(request: HTTPRequest, limit: int) -> HTTPResponse:
        return HTTPResponse(413, f"request entity is too large; limit is {limit} bytes\n".encode(),
                            {"Content-Type": "text/plain"})
