"""HttpAnnotator over both transports against a real FakeVisionServer, and RetryPolicy."""

from __future__ import annotations

import asyncio
import base64
import gc
import io
import json
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from workerkit.imagelib.domain.annotators import (
    AnnotationError,
    HttpAnnotator,
    HttpAnnotatorConfig,
    LocalAnnotator,
    RetryPolicy,
)
from workerkit.imagelib.domain.fakeapi import FakeVisionServer, Fault

SECRET = "sk-test-0123456789-do-not-leak"
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=1.0, jitter=0.0)

Call = Callable[[HttpAnnotator, Path], list[str]]


def _annotate_blocking(annotator: HttpAnnotator, path: Path) -> list[str]:
    return annotator.annotate(path)


def _annotate_async(annotator: HttpAnnotator, path: Path) -> list[str]:
    async def run() -> list[str]:
        async with aiohttp.ClientSession() as session:
            return await annotator.annotate_async(session, path)

    return asyncio.run(run())


@pytest.fixture(params=[_annotate_blocking, _annotate_async], ids=["urllib", "aiohttp"])
def call(request: pytest.FixtureRequest) -> Call:
    return request.param


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WORKERKIT_API_KEY", SECRET)
    return SECRET


@pytest.fixture
def server() -> Iterator[FakeVisionServer]:
    with FakeVisionServer(hang_seconds=2.0) as running:
        yield running


@pytest.fixture
def red_image(tmp_path: Path) -> Path:
    path = tmp_path / "red.png"
    Image.new("RGB", (320, 200), (220, 30, 30)).save(path)
    return path


def _annotator(base_url: str, **overrides: object) -> HttpAnnotator:
    options: dict[str, object] = {"base_url": base_url, "timeout": 5.0, "retry": FAST_RETRY}
    options.update(overrides)
    return HttpAnnotator(HttpAnnotatorConfig(**options))  # type: ignore[arg-type]


def _closed_port_url() -> str:
    with FakeVisionServer() as gone:
        url = gone.base_url
    return url


# --- both transports ---------------------------------------------------------------------


def test_http_annotator_success_returns_server_tags(
    call: Call, api_key: str, server: FakeVisionServer, red_image: Path
) -> None:
    annotator = _annotator(server.base_url)

    tags = call(annotator, red_image)

    assert tags == LocalAnnotator().annotate(red_image)
    assert (annotator.stats.requests, annotator.stats.retries) == (1, 0)
    assert server.requests == 1


def test_http_annotator_server_error_then_success_retries(
    call: Call, api_key: str, server: FakeVisionServer, red_image: Path
) -> None:
    annotator = _annotator(server.base_url)
    server.inject(Fault.SERVER_ERROR)

    tags = call(annotator, red_image)

    assert "red" in tags
    assert (annotator.stats.requests, annotator.stats.retries) == (2, 1)
    assert annotator.stats.failures == 0
    assert server.faults_served == {Fault.SERVER_ERROR: 1}


def test_http_annotator_rate_limit_honours_retry_after(
    call: Call, api_key: str, server: FakeVisionServer, red_image: Path
) -> None:
    annotator = _annotator(server.base_url)
    server.inject(Fault.RATE_LIMIT, retry_after=0.3)

    started = time.monotonic()
    tags = call(annotator, red_image)
    elapsed = time.monotonic() - started

    assert "red" in tags
    assert elapsed >= 0.3  # FAST_RETRY alone would wait 0.01 s
    assert annotator.stats.retries == 1
    assert server.faults_served == {Fault.RATE_LIMIT: 1}


def test_http_annotator_persistent_server_error_gives_up_after_max_attempts(
    call: Call, api_key: str, server: FakeVisionServer, red_image: Path
) -> None:
    annotator = _annotator(server.base_url)
    server.fail_always(Fault.SERVER_ERROR)

    with pytest.raises(AnnotationError) as caught:
        call(annotator, red_image)

    assert caught.value.retryable
    assert "HTTP 500 Internal Server Error" in str(caught.value)
    assert "(gave up after 3 attempts)" in str(caught.value)
    assert server.requests == 3
    assert (annotator.stats.requests, annotator.stats.retries, annotator.stats.failures) == (
        3,
        2,
        1,
    )


def test_http_annotator_timeout_past_client_timeout_is_retried(
    call: Call, api_key: str, server: FakeVisionServer, red_image: Path
) -> None:
    annotator = _annotator(server.base_url, timeout=0.3)
    server.inject(Fault.TIMEOUT)

    started = time.monotonic()
    tags = call(annotator, red_image)
    elapsed = time.monotonic() - started

    assert "red" in tags
    assert annotator.stats.retries == 1
    assert elapsed < 1.5  # the server held the first request for 2 s; the client left early


def test_http_annotator_timeout_every_time_raises_retryable_error(
    call: Call, api_key: str, server: FakeVisionServer, red_image: Path
) -> None:
    retry = RetryPolicy(max_attempts=2, base_delay=0.01, jitter=0.0)
    annotator = _annotator(server.base_url, timeout=0.3, retry=retry)
    server.fail_always(Fault.TIMEOUT)

    with pytest.raises(AnnotationError) as caught:
        call(annotator, red_image)

    assert caught.value.retryable
    assert f"no reply from {server.base_url}/chat/completions within 0.3 s" in str(caught.value)
    assert "WORKERKIT_API_TIMEOUT" in str(caught.value)
    assert server.faults_served == {Fault.TIMEOUT: 2}


def test_http_annotator_malformed_reply_is_not_retried(
    call: Call, api_key: str, server: FakeVisionServer, red_image: Path
) -> None:
    annotator = _annotator(server.base_url)
    server.inject(Fault.MALFORMED)

    with pytest.raises(AnnotationError) as caught:
        call(annotator, red_image)

    message = str(caught.value)
    assert "the reply was not a chat-completions response (invalid JSON" in message
    assert not caught.value.retryable
    assert SECRET not in message
    assert server.requests == 1
    assert annotator.stats.retries == 0


def test_http_annotator_no_tags_reply_gives_empty_list(
    call: Call, api_key: str, server: FakeVisionServer, red_image: Path
) -> None:
    annotator = _annotator(server.base_url)
    server.inject(Fault.NO_TAGS)

    assert call(annotator, red_image) == []
    assert annotator.stats.failures == 0


def test_http_annotator_connection_refused_raises_annotation_error(
    call: Call, api_key: str, red_image: Path
) -> None:
    url = _closed_port_url()
    annotator = _annotator(url, retry=RetryPolicy(max_attempts=2, base_delay=0.01))

    with pytest.raises(AnnotationError) as caught:
        call(annotator, red_image)

    assert f"the connection to {url}/chat/completions failed" in str(caught.value)
    assert "(gave up after 2 attempts)" in str(caught.value)
    assert annotator.stats.requests == 2


def test_http_annotator_wrong_key_names_variable_and_hides_key(
    call: Call, api_key: str, red_image: Path
) -> None:
    with FakeVisionServer(required_key="the-right-key") as guarded:
        annotator = _annotator(guarded.base_url)

        with pytest.raises(AnnotationError) as caught:
            call(annotator, red_image)

        assert guarded.requests == 1  # 401 is not retried
    message = str(caught.value)
    assert "the server rejected the API key (HTTP 401 Unauthorized" in message
    assert "Set WORKERKIT_API_KEY to a key that" in message
    assert SECRET not in message
    assert SECRET not in repr(caught.value)


def test_http_annotator_missing_key_fails_before_any_request(
    call: Call, monkeypatch: pytest.MonkeyPatch, server: FakeVisionServer, red_image: Path
) -> None:
    monkeypatch.delenv("WORKERKIT_API_KEY", raising=False)
    annotator = _annotator(server.base_url)

    with pytest.raises(AnnotationError) as caught:
        call(annotator, red_image)

    assert "environment variable WORKERKIT_API_KEY" in str(caught.value)
    assert "Set WORKERKIT_API_KEY to the API key" in str(caught.value)
    assert server.requests == 0
    assert (annotator.stats.requests, annotator.stats.failures) == (0, 1)


def test_http_annotator_wrong_path_is_not_retried_and_names_base(
    call: Call, api_key: str, server: FakeVisionServer, red_image: Path
) -> None:
    annotator = _annotator(server.base_url.removesuffix("/v1"))

    with pytest.raises(AnnotationError) as caught:
        call(annotator, red_image)

    assert "HTTP 404 Not Found" in str(caught.value)
    assert "Check WORKERKIT_API_BASE (it should end in /v1)" in str(caught.value)
    assert server.requests == 1


def test_http_annotator_unreadable_image_fails_before_any_request(
    call: Call, api_key: str, server: FakeVisionServer, tmp_path: Path
) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG truncated")

    with pytest.raises(AnnotationError, match="could not be read as an image"):
        call(_annotator(server.base_url), path)

    assert server.requests == 0


# --- aiohttp only ------------------------------------------------------------------------


def test_http_annotator_async_cancel_mid_request_is_prompt(api_key: str, red_image: Path) -> None:
    async def cancel_mid_request(server: FakeVisionServer) -> float:
        annotator = _annotator(server.base_url)
        async with aiohttp.ClientSession() as session:
            task = asyncio.create_task(annotator.annotate_async(session, red_image))
            assert await asyncio.to_thread(server.wait_for_requests, 1)
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - started

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with FakeVisionServer(latency=3.0) as server:
            elapsed = asyncio.run(cancel_mid_request(server))
        gc.collect()

    assert elapsed < 0.5
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_http_annotator_async_requests_run_concurrently(api_key: str, red_image: Path) -> None:
    async def annotate_eight(annotator: HttpAnnotator) -> list[list[str]]:
        async with aiohttp.ClientSession() as session:
            return await asyncio.gather(
                *(annotator.annotate_async(session, red_image) for _ in range(8))
            )

    with FakeVisionServer(latency=0.3) as server:
        annotator = _annotator(server.base_url)
        started = time.monotonic()
        results = asyncio.run(annotate_eight(annotator))
        elapsed = time.monotonic() - started

    assert server.max_concurrent > 1
    assert elapsed < 8 * 0.3
    assert results == [LocalAnnotator().annotate(red_image)] * 8
    assert annotator.stats.requests == 8


# --- request and reply, no network -------------------------------------------------------


def test_http_annotator_build_request_is_chat_completions_with_small_jpeg(
    api_key: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.png"
    Image.new("RGBA", (2000, 1000), (0, 128, 0, 255)).save(path)
    annotator = _annotator("http://127.0.0.1:9/v1/", model="llava", max_image_px=400)

    url, headers, body = annotator.build_request(path)

    payload = json.loads(body)
    assert url == "http://127.0.0.1:9/v1/chat/completions"
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert headers["Content-Type"] == "application/json"
    assert payload["model"] == "llava"
    assert payload["max_tokens"] > 0
    text_part, image_part = payload["messages"][0]["content"]
    assert text_part["type"] == "text"
    assert "comma" in text_part["text"]
    prefix, encoded = image_part["image_url"]["url"].split(",", 1)
    assert prefix == "data:image/jpeg;base64"
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as sent:
        assert (sent.format, sent.mode, sent.size) == ("JPEG", "RGB", (400, 200))


def test_http_annotator_parse_reply_normalises_tags(tmp_path: Path) -> None:
    annotator = _annotator("http://127.0.0.1:9/v1")
    reply = {"choices": [{"message": {"role": "assistant", "content": "Red Car, sky\nred car,"}}]}

    tags = annotator.parse_reply(tmp_path / "a.jpg", 200, {}, json.dumps(reply).encode())

    assert tags == ["red car", "sky"]


def test_http_annotator_parse_reply_missing_fields_is_not_chat_completions(
    tmp_path: Path,
) -> None:
    annotator = _annotator("http://127.0.0.1:9/v1")

    with pytest.raises(AnnotationError) as caught:
        annotator.parse_reply(tmp_path / "a.jpg", 200, {}, b'{"choices": []}')

    assert "(it has no choices[0].message.content)" in str(caught.value)
    assert not caught.value.retryable


def test_http_annotator_parse_reply_503_reads_retry_after_any_case(tmp_path: Path) -> None:
    annotator = _annotator("http://127.0.0.1:9/v1")

    with pytest.raises(AnnotationError) as caught:
        annotator.parse_reply(tmp_path / "a.jpg", 503, {"RETRY-AFTER": "2.5"}, b"")

    assert caught.value.retryable
    assert caught.value.retry_after == 2.5


def test_http_annotator_parse_reply_redacts_key_echoed_by_server(
    api_key: str, tmp_path: Path
) -> None:
    annotator = _annotator("http://127.0.0.1:9/v1")
    body = json.dumps({"error": {"message": f"Model not found for key {SECRET}."}}).encode()

    with pytest.raises(AnnotationError) as caught:
        annotator.parse_reply(tmp_path / "a.jpg", 400, {}, body)

    assert "HTTP 400 Bad Request: Model not found for key <redacted>)" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert not caught.value.retryable


def test_http_annotator_key_not_in_config_annotator_or_stats_repr(api_key: str) -> None:
    annotator = _annotator("http://127.0.0.1:9/v1")

    shown = " ".join([repr(annotator.config), repr(annotator), repr(annotator.stats)])

    assert "WORKERKIT_API_KEY" in shown  # the variable's name, not its value
    assert SECRET not in shown


def test_http_annotator_config_from_env_reads_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKERKIT_API_BASE", "https://api.example.test/v1")
    monkeypatch.setenv("WORKERKIT_API_MODEL", "gpt-vision")
    monkeypatch.setenv("WORKERKIT_API_TIMEOUT", "12.5")

    config = HttpAnnotatorConfig.from_env()

    assert (config.base_url, config.model, config.timeout) == (
        "https://api.example.test/v1",
        "gpt-vision",
        12.5,
    )


def test_http_annotator_config_from_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORKERKIT_API_BASE", "WORKERKIT_API_MODEL", "WORKERKIT_API_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)

    config = HttpAnnotatorConfig.from_env()

    assert (config.base_url, config.model, config.timeout, config.retry) == (
        "http://127.0.0.1:8765/v1",
        "vision-tagger",
        30.0,
        RetryPolicy(),
    )


def test_http_annotator_config_bad_timeout_names_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKERKIT_API_TIMEOUT", "soon")

    with pytest.raises(ValueError, match="WORKERKIT_API_TIMEOUT must be a number of seconds"):
        HttpAnnotatorConfig.from_env()


def test_http_annotator_config_rejects_non_http_url() -> None:
    with pytest.raises(ValueError, match="must start with http:// or https://"):
        HttpAnnotatorConfig(base_url="ftp://127.0.0.1/v1")


# --- RetryPolicy -------------------------------------------------------------------------


def test_retry_policy_backs_off_exponentially_up_to_max() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=1.0, jitter=0.0)

    assert [policy.delay_for(n, None) for n in (1, 2, 3, 4, 500)] == [0.2, 0.4, 0.8, 1.0, 1.0]


def test_retry_policy_honours_retry_after_capped_at_max() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=5.0, jitter=0.0)

    assert policy.delay_for(1, 3.0) == 3.0
    assert policy.delay_for(1, 0.0) == 0.0
    assert policy.delay_for(1, 60.0) == 5.0
    assert policy.delay_for(2, -1.0) == 0.4  # a nonsense Retry-After falls back to backoff


def test_retry_policy_jitter_only_lengthens_within_bounds() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=100.0, jitter=0.5)

    delays = [policy.delay_for(1, None) for _ in range(200)]

    assert all(1.0 <= delay <= 1.5 for delay in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"base_delay": -1.0}, "base_delay must be a finite number >= 0"),
        ({"jitter": float("nan")}, "jitter must be a finite number >= 0"),
    ],
)
def test_retry_policy_invalid_values_are_rejected(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_retry_policy_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="Attempts are numbered from 1, got 0"):
        RetryPolicy().delay_for(0, None)
