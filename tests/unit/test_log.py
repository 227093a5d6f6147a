"""runtime.log: JSON lines with reconcile context; the HTTP stack's per-request INFO is muted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from runtime.log import setup_logging


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    setup_logging(stream=buf)
    yield buf
    setup_logging()  # back to stderr for the other tests


def test_lines_are_json_with_message_and_level(logs: io.StringIO) -> None:
    logging.getLogger("app").info("hello %s", "world", extra={"object": "ns/name"})
    line = json.loads(logs.getvalue().splitlines()[-1])
    assert (line["msg"], line["level"], line["logger"]) == ("hello world", "info", "app")
    assert line["object"] == "ns/name"


@pytest.mark.parametrize("name", ["httpx", "httpx2", "httpcore", "httpcore2"])
def test_http_request_lines_are_muted_but_warnings_kept(logs: io.StringIO, name: str) -> None:
    logging.getLogger(name).info("HTTP Request: GET https://127.0.0.1/api")
    logging.getLogger(name).warning("connection reset")
    text = logs.getvalue()
    assert "HTTP Request" not in text
    assert "connection reset" in text
