"""Tags from an OpenAI-compatible chat-completions vision API, over urllib or aiohttp.

The request, the reply parsing and the retry decisions live once, in
``HttpAnnotator.build_request``, ``HttpAnnotator.parse_reply`` and ``Exchange``;
``annotate`` and ``annotate_async`` only move bytes and wait.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import io
import json
import math
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from pathlib import Path
from typing import Any, Self, TypeAlias

import aiohttp

from workerkit.imagelib.domain.annotators.base import AnnotationError
from workerkit.imagelib.domain.annotators.local import load_reduced
from workerkit.imagelib.domain.annotators.retry import RetryPolicy
from workerkit.imagelib.domain.sidecars import parse_tags

__all__ = ["Exchange", "HttpAnnotator", "HttpAnnotatorConfig", "HttpStats", "Reply"]

DEFAULT_BASE_URL = "http://127.0.0.1:8765/v1"
PROMPT = (
    "List what this image shows as short lowercase tags separated by commas: "
    "objects, scene, colours, style. Reply with the tags only, no sentences."
)
_MAX_TOKENS = 300
_JPEG_QUALITY = 85
_SERVER_MESSAGE_CHARS = 200
_NOT_CHAT_COMPLETIONS_HINT = (
    "Check that WORKERKIT_API_BASE points at an OpenAI-compatible /v1 endpoint."
)

# Neither transport reads proxy settings from the environment: aiohttp does
# not by default (trust_env=False), so urllib must not either, or the two
# stacks would talk to different hosts.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpAnnotatorConfig:
    """Say where the vision API is and how to call it; the key itself stays in the environment."""

    base_url: str
    model: str = "vision-tagger"
    api_key_env: str = "WORKERKIT_API_KEY"
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_image_px: int = 768

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"HttpAnnotatorConfig.base_url must start with http:// or https://, got "
                f"{self.base_url!r}; set WORKERKIT_API_BASE to e.g. {DEFAULT_BASE_URL}."
            )
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(
                f"HttpAnnotatorConfig.timeout must be a positive number of seconds, got "
                f"{self.timeout!r}."
            )
        if self.max_image_px < 16:
            raise ValueError(
                f"HttpAnnotatorConfig.max_image_px must be at least 16, got {self.max_image_px}."
            )

    @classmethod
    def from_env(cls) -> Self:
        """Build a config from WORKERKIT_API_BASE, WORKERKIT_API_MODEL, WORKERKIT_API_TIMEOUT."""
        options: dict[str, Any] = {
            "base_url": os.environ.get("WORKERKIT_API_BASE") or DEFAULT_BASE_URL
        }
        if model := os.environ.get("WORKERKIT_API_MODEL"):
            options["model"] = model
        if timeout := os.environ.get("WORKERKIT_API_TIMEOUT"):
            options["timeout"] = _parse_timeout(timeout)
        return cls(**options)

    @property
    def url(self) -> str:
        """Return the chat-completions endpoint."""
        return f"{self.base_url.rstrip('/')}/chat/completions"


def _parse_timeout(text: str) -> float:
    """Return WORKERKIT_API_TIMEOUT as seconds or raise a ValueError naming the variable."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"WORKERKIT_API_TIMEOUT must be a number of seconds, got {text!r}; "
            "set it to e.g. 30 or unset it."
        ) from None


class HttpStats:
    """Count requests sent, retries among them and calls that failed; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._failures = 0

    @property
    def requests(self) -> int:
        """Return the number of HTTP requests sent, retries included."""
        with self._lock:
            return self._requests

    @property
    def retries(self) -> int:
        """Return the number of requests that repeated an earlier failed one."""
        with self._lock:
            return self._retries

    @property
    def failures(self) -> int:
        """Return the number of annotate calls that ended in AnnotationError."""
        with self._lock:
            return self._failures

    def add(self, *, requests: int = 0, retries: int = 0, failures: int = 0) -> None:
        """Add to the counters atomically."""
        with self._lock:
            self._requests += requests
            self._retries += retries
            self._failures += failures

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"HttpStats(requests={self._requests}, retries={self._retries}, "
                f"failures={self._failures})"
            )


Request: TypeAlias = tuple[str, dict[str, str], bytes]
# Reply headers: a Mapping (aiohttp, Qt), or the email.message.Message that urllib gives.
_Headers: TypeAlias = Mapping[str, str] | Message


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back over the wire, before any interpretation."""

    status: int
    headers: _Headers
    body: bytes


_Outcome: TypeAlias = Reply | AnnotationError


@dataclass(frozen=True, slots=True)
class _Attempt:
    """Wait ``delay`` seconds, then send ``request``."""

    delay: float
    request: Request


class HttpAnnotator:
    """Tag images with a chat-completions vision model, blocking or on an asyncio loop."""

    name = "http"

    def __init__(self, config: HttpAnnotatorConfig) -> None:
        self.config = config
        self.stats = HttpStats()

    def __repr__(self) -> str:
        return f"HttpAnnotator(model={self.config.model!r}, url={self.config.url!r})"

    def annotate(self, path: Path) -> list[str]:
        """Return the model's tags for ``path``, blocking; raise AnnotationError on failure."""
        exchange = self.begin_exchange(path)
        while (attempt := exchange.next_attempt()) is not None:
            if attempt.delay:
                time.sleep(attempt.delay)
            exchange.record(self._post_blocking(path, attempt.request))
        return exchange.result()

    async def annotate_async(self, session: aiohttp.ClientSession, path: Path) -> list[str]:
        """Return the model's tags for ``path`` via ``session``; raise AnnotationError if not."""
        # Decoding and re-encoding the image is CPU work; keep it off the event loop.
        exchange = await asyncio.to_thread(self.begin_exchange, path)
        return await self.complete_async(session, path, exchange)

    async def complete_async(
        self, session: aiohttp.ClientSession, path: Path, exchange: Exchange
    ) -> list[str]:
        """Send an exchange begun with begin_exchange() via ``session``; return its tags."""
        while (attempt := exchange.next_attempt()) is not None:
            if attempt.delay:
                await asyncio.sleep(attempt.delay)
            exchange.record(await self._post_async(session, path, attempt.request))
        return exchange.result()

    def build_request(self, path: Path) -> Request:
        """Return the (url, headers, body) of the chat-completions call for ``path``."""
        key = self._require_key(path)
        image_url = f"data:image/jpeg;base64,{self._encode_image(path)}"
        payload = {
            "model": self.config.model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": PROMPT},
                        {"type": "image_url", "image_url": {"url": image_url}},
                    ],
                }
            ],
            "max_tokens": _MAX_TOKENS,
        }
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        return self.config.url, headers, json.dumps(payload).encode()

    def parse_reply(self, path: Path, status: int, headers: _Headers, body: bytes) -> list[str]:
        """Return the tags in a chat-completions reply or raise AnnotationError saying why not."""
        if not 200 <= status < 300:
            raise self._status_error(path, status, _lower_keys(headers), body)
        try:
            content = json.loads(body)["choices"][0]["message"]["content"]
        except json.JSONDecodeError as error:
            raise self._error(
                path,
                f"the reply was not a chat-completions response (invalid JSON: {error})",
                hint=_NOT_CHAT_COMPLETIONS_HINT,
            ) from error
        except (KeyError, IndexError, TypeError) as error:
            raise self._error(
                path,
                "the reply was not a chat-completions response "
                "(it has no choices[0].message.content)",
                hint=_NOT_CHAT_COMPLETIONS_HINT,
            ) from error
        if content is None:
            return []
        if not isinstance(content, str):
            raise self._error(
                path,
                "the reply was not a chat-completions response "
                f"(choices[0].message.content is a {type(content).__name__}, not text)",
                hint=_NOT_CHAT_COMPLETIONS_HINT,
            )
        return list(parse_tags(content))

    def begin_exchange(self, path: Path) -> Exchange:
        """Start one annotate call: build its request, counting a failure if that fails."""
        try:
            return Exchange(self, path, self.build_request(path))
        except AnnotationError:
            self.stats.add(failures=1)
            raise

    def _require_key(self, path: Path) -> str:
        """Return the API key from the configured variable or raise AnnotationError naming it."""
        if key := os.environ.get(self.config.api_key_env, "").strip():
            return key
        variable = self.config.api_key_env
        raise self._error(
            path,
            f"the environment variable {variable} that holds the API key is not set",
            hint=f"Set {variable} to the API key for {self.config.base_url} and try again.",
        )

    def _encode_image(self, path: Path) -> str:
        """Return ``path`` shrunk to max_image_px, as base64 RGB JPEG."""
        image = load_reduced(path, max_px=self.config.max_image_px, model=self.config.model)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=_JPEG_QUALITY)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def _post_blocking(self, path: Path, request: Request) -> _Outcome:
        """Send ``request`` with urllib; return the reply or the transport failure."""
        url, headers, body = request
        http_request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with _OPENER.open(http_request, timeout=self.config.timeout) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return self._read_error_reply(path, error)
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                return self.timeout_error(path, error)
            return self.connection_error(path, error.reason, error)
        except TimeoutError as error:
            return self.timeout_error(path, error)
        except (OSError, http.client.HTTPException) as error:
            return self.connection_error(path, error, error)

    def _read_error_reply(self, path: Path, error: urllib.error.HTTPError) -> _Outcome:
        """Turn urllib's HTTPError (any non-2xx status) back into a plain reply."""
        try:
            return Reply(error.code, error.headers, error.read())
        except TimeoutError as timeout:
            return self.timeout_error(path, timeout)
        except (OSError, http.client.HTTPException) as failure:
            return self.connection_error(path, failure, failure)
        finally:
            error.close()

    async def _post_async(
        self, session: aiohttp.ClientSession, path: Path, request: Request
    ) -> _Outcome:
        """Send ``request`` with aiohttp; return the reply or the transport failure."""
        url, headers, body = request
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        # Only Exception subclasses are caught, so asyncio.CancelledError passes through.
        try:
            async with session.post(url, data=body, headers=headers, timeout=timeout) as response:
                return Reply(response.status, response.headers, await response.read())
        except TimeoutError as error:
            return self.timeout_error(path, error)
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            return self.connection_error(path, error, error)
        except aiohttp.ClientError as error:
            failure = self._error(path, f"the HTTP client failed before a reply came ({error})")
            failure.__cause__ = error
            return failure

    def timeout_error(self, path: Path, cause: BaseException) -> AnnotationError:
        """Describe a request that got no complete reply within the timeout."""
        error = self._error(
            path,
            f"no reply from {self.config.url} within {self.config.timeout:g} s",
            retryable=True,
            hint="Check that the server is up, or raise WORKERKIT_API_TIMEOUT.",
        )
        error.__cause__ = cause
        return error

    def connection_error(self, path: Path, reason: object, cause: BaseException) -> AnnotationError:
        """Describe a request whose connection failed or broke before the reply was complete."""
        error = self._error(
            path,
            f"the connection to {self.config.url} failed ({reason})",
            retryable=True,
            hint="Check WORKERKIT_API_BASE and that the server is running.",
        )
        error.__cause__ = cause
        return error

    def _status_error(
        self, path: Path, status: int, headers: Mapping[str, str], body: bytes
    ) -> AnnotationError:
        """Describe a non-2xx reply, retryable for 429 and 5xx."""
        described = f"HTTP {status} {_status_phrase(status)}".rstrip()
        if message := self._server_message(body):
            described = f"{described}: {message}"
        variable = self.config.api_key_env
        if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            return self._error(
                path,
                f"the server rejected the API key ({described})",
                hint=f"Set {variable} to a key that {self.config.base_url} accepts.",
            )
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= 500:
            return self._error(
                path,
                f"the server answered {described}",
                retryable=True,
                retry_after=_parse_retry_after(headers.get("retry-after")),
                hint="Lower the number of concurrent requests or try again later.",
            )
        return self._error(
            path,
            f"the server refused the request ({described})",
            hint=(
                "Check WORKERKIT_API_BASE (it should end in /v1) and WORKERKIT_API_MODEL "
                f"(now {self.config.model!r})."
            ),
        )

    def _server_message(self, body: bytes) -> str:
        """Return the error message of an OpenAI-style error body, short and without the key."""
        try:
            message = json.loads(body)["error"]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            return ""
        if not isinstance(message, str):
            return ""
        key = os.environ.get(self.config.api_key_env, "").strip()
        if key:
            message = message.replace(key, "<redacted>")
        return message[:_SERVER_MESSAGE_CHARS].strip().rstrip(".")

    def _error(
        self,
        path: Path,
        reason: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        hint: str = "",
    ) -> AnnotationError:
        """Return an AnnotationError for ``path`` from this annotator's model."""
        return AnnotationError(
            path,
            self.config.model,
            reason,
            retryable=retryable,
            retry_after=retry_after,
            hint=hint,
        )


class Exchange:
    """Run one annotate call's attempts and retry decisions, with no I/O of its own.

    A transport asks ``next_attempt()`` what to do (wait, then send), feeds the
    reply or transport failure to ``record()``, and repeats until
    ``next_attempt()`` returns None; ``result()`` then returns the tags or
    raises the final error.
    """

    def __init__(self, annotator: HttpAnnotator, path: Path, request: Request) -> None:
        self._annotator = annotator
        self._path = path
        self._request = request
        self._attempts = 0
        self._tags: list[str] | None = None
        self._error: AnnotationError | None = None

    def next_attempt(self) -> _Attempt | None:
        """Return the next attempt to make, or None when the call is settled."""
        if self._tags is not None or (self._error is not None and not self._may_retry(self._error)):
            return None
        delay = 0.0
        if self._error is not None:
            delay = self._policy.delay_for(self._attempts, self._error.retry_after)
        self._attempts += 1
        self._annotator.stats.add(requests=1, retries=int(self._attempts > 1))
        return _Attempt(delay, self._request)

    def record(self, outcome: _Outcome) -> None:
        """Take in what the last attempt got back."""
        if isinstance(outcome, AnnotationError):
            self._error = outcome
            return
        try:
            self._tags = self._annotator.parse_reply(
                self._path, outcome.status, outcome.headers, outcome.body
            )
        except AnnotationError as error:
            self._error = error

    def result(self) -> list[str]:
        """Return the tags, or raise the error that ended the call."""
        if self._tags is not None:
            return self._tags
        if self._error is None:
            raise RuntimeError("An HTTP exchange has no result before its first attempt.")
        self._annotator.stats.add(failures=1)
        if self._attempts > 1:
            raise self._gave_up(self._error) from self._error
        raise self._error

    @property
    def _policy(self) -> RetryPolicy:
        return self._annotator.config.retry

    def _may_retry(self, error: AnnotationError) -> bool:
        """Return True when ``error`` is retryable and attempts remain."""
        return error.retryable and self._attempts < self._policy.max_attempts

    def _gave_up(self, error: AnnotationError) -> AnnotationError:
        """Return ``error`` restated as the end of ``self._attempts`` attempts."""
        return AnnotationError(
            error.path,
            error.model,
            f"{error.reason} (gave up after {self._attempts} attempts)",
            retryable=error.retryable,
            retry_after=error.retry_after,
            hint=error.hint,
        )


def _lower_keys(headers: _Headers) -> dict[str, str]:
    """Return ``headers`` with lower-case names, for case-insensitive look-ups."""
    return {name.lower(): value for name, value in headers.items()}


def _status_phrase(status: int) -> str:
    """Return the standard reason phrase of ``status``, or '' for unknown codes."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _parse_retry_after(value: str | None) -> float | None:
    """Return a Retry-After header in seconds; None when absent or not a number of seconds."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
