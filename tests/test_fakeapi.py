"""FakeVisionServer: replies, faults, counters, lifecycle and the subprocess spawner."""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from workerkit.imagelib.domain.annotators import HttpAnnotator, HttpAnnotatorConfig, LocalAnnotator
from workerkit.imagelib.domain.fakeapi import FakeVisionServer, Fault, spawn_fake_server

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

Reply = tuple[int, dict[str, str], bytes]


@pytest.fixture
def server() -> Iterator[FakeVisionServer]:
    with FakeVisionServer() as running:
        yield running


@pytest.fixture
def image_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 300), (30, 160, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _chat_body(image: bytes, model: str = "vision-tagger") -> bytes:
    url = f"data:image/png;base64,{base64.b64encode(image).decode()}"
    content = [{"type": "text", "text": "tags?"}, {"type": "image_url", "image_url": {"url": url}}]
    return json.dumps({"model": model, "messages": [{"role": "user", "content": content}]}).encode()


def _post(
    url: str, body: bytes | None, headers: dict[str, str] | None = None, method: str = "POST"
) -> Reply:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def _post_in_thread(url: str, body: bytes) -> tuple[threading.Thread, list[Reply | OSError]]:
    outcome: list[Reply | OSError] = []

    def post() -> None:
        try:
            outcome.append(_post(url, body))
        except OSError as error:
            outcome.append(error)

    client = threading.Thread(target=post)
    client.start()
    return client, outcome


def _completions(server: FakeVisionServer) -> str:
    return f"{server.base_url}/chat/completions"


def _port(server: FakeVisionServer) -> int:
    port = urllib.parse.urlsplit(server.base_url).port
    assert port is not None
    return port


def _send_then_hang_up(server: FakeVisionServer, body: bytes, arrived: Callable[[], bool]) -> None:
    """Post ``body`` over a raw socket and close it once ``arrived()`` says the server has it."""
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=5) as client:
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}"
        client.sendall(head.encode() + b"\r\n\r\n" + body)
        assert arrived()


def _eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Return True once ``condition()`` holds, polling until ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_fake_server_answers_with_local_annotator_tags(
    server: FakeVisionServer, image_bytes: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "green.png"
    path.write_bytes(image_bytes)

    status, headers, body = _post(_completions(server), _chat_body(image_bytes, model="llava"))

    reply = json.loads(body)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert reply["object"] == "chat.completion"
    assert reply["model"] == "llava"
    assert reply["choices"][0]["message"]["role"] == "assistant"
    assert reply["choices"][0]["message"]["content"] == ", ".join(LocalAnnotator().annotate(path))
    assert server.base_url.startswith("http://127.0.0.1:")


def test_fake_server_serves_injected_faults_in_order(
    server: FakeVisionServer, image_bytes: bytes
) -> None:
    server.inject(Fault.SERVER_ERROR)
    server.inject(Fault.RATE_LIMIT, 2, retry_after=0.25)
    server.inject(Fault.NO_TAGS)

    replies = [_post(_completions(server), _chat_body(image_bytes)) for _ in range(5)]

    assert [status for status, _, _ in replies] == [500, 429, 429, 200, 200]
    assert replies[1][1]["Retry-After"] == "0.25"
    assert json.loads(replies[3][2])["choices"][0]["message"]["content"] == ""
    assert "green" in json.loads(replies[4][2])["choices"][0]["message"]["content"]
    assert server.faults_served == {Fault.SERVER_ERROR: 1, Fault.RATE_LIMIT: 2, Fault.NO_TAGS: 1}
    assert server.requests == 5


def test_fake_server_malformed_fault_is_invalid_json(
    server: FakeVisionServer, image_bytes: bytes
) -> None:
    server.inject(Fault.MALFORMED)

    status, _, body = _post(_completions(server), _chat_body(image_bytes))

    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_fake_server_fail_always_until_cleared(
    server: FakeVisionServer, image_bytes: bytes
) -> None:
    server.fail_always(Fault.SERVER_ERROR)
    failing = [_post(_completions(server), _chat_body(image_bytes))[0] for _ in range(3)]
    server.clear_faults()

    assert failing == [500, 500, 500]
    assert _post(_completions(server), _chat_body(image_bytes))[0] == 200
    assert server.faults_served == {Fault.SERVER_ERROR: 3}


def test_fake_server_required_key_rejects_other_tokens(image_bytes: bytes) -> None:
    with FakeVisionServer(required_key="right") as guarded:
        url = _completions(guarded)
        wrong = _post(url, _chat_body(image_bytes), {"Authorization": "Bearer wrong"})
        missing = _post(url, _chat_body(image_bytes))
        right = _post(url, _chat_body(image_bytes), {"Authorization": "Bearer right"})

    assert (wrong[0], missing[0], right[0]) == (401, 401, 200)
    assert b"right" not in wrong[2]
    assert json.loads(wrong[2])["error"]["message"] == "Incorrect API key provided: wrong."
    assert json.loads(missing[2])["error"]["message"] == "Incorrect API key provided: ."


def test_fake_server_unknown_path_is_404(server: FakeVisionServer, image_bytes: bytes) -> None:
    status, _, body = _post(f"{server.base_url}/completions", _chat_body(image_bytes))
    got, _, got_body = _post(_completions(server), None, method="GET")

    assert status == 404
    assert "No route for POST here" in json.loads(body)["error"]["message"]
    assert (got, json.loads(got_body)["error"]["message"]) == (404, "No route for GET here.")
    assert server.requests == 2


def test_fake_server_refuses_a_body_over_the_limit_without_reading_it(
    server: FakeVisionServer,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=10)
    try:
        connection.putrequest("POST", "/v1/chat/completions")
        connection.putheader("Content-Length", str(32 * 1024 * 1024 + 1))
        connection.endheaders()  # the body never comes
        reply = connection.getresponse()
        status, body = reply.status, reply.read()
    finally:
        connection.close()

    assert status == 400
    assert json.loads(body)["error"]["message"] == "Content-Length is missing or too large."
    assert server.requests == 1


def test_fake_server_closes_the_connection_after_each_reply(
    server: FakeVisionServer, image_bytes: bytes
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=10)
    try:
        connection.request("POST", "/v1/chat/completions", _chat_body(image_bytes))
        reply = connection.getresponse()  # HTTP/1.1 and no Connection header: keep-alive asked
        reply.read()
    finally:
        connection.close()

    assert reply.status == 200
    assert reply.getheader("Connection") == "close"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "The body is not a chat-completions request."),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "no image_url content part"),
        (
            b'{"messages": [{"role": "user", "content": [{"type": "image_url", '
            b'"image_url": {"url": "data:image/png;base64,!!!"}}]}]}',
            "not valid base64",
        ),
        (
            b'{"messages": [{"role": "user", "content": [{"type": "image_url", '
            b'"image_url": {"url": "data:image/png;base64,aGVsbG8="}}]}]}',
            "could not be decoded",
        ),
    ],
)
def test_fake_server_bad_request_is_400_with_reason(
    server: FakeVisionServer, body: bytes, message: str
) -> None:
    status, _, reply = _post(_completions(server), body)

    assert status == 400
    assert message in json.loads(reply)["error"]["message"]


def test_fake_server_latency_delays_each_reply(image_bytes: bytes) -> None:
    with FakeVisionServer(latency=0.2) as slow:
        started = time.monotonic()
        status, _, _ = _post(_completions(slow), _chat_body(image_bytes))
        elapsed = time.monotonic() - started

    assert status == 200
    assert elapsed >= 0.2


def test_fake_server_stop_releases_held_request_promptly(image_bytes: bytes) -> None:
    held = FakeVisionServer(hang_seconds=30.0).start()
    held.inject(Fault.TIMEOUT)
    client, outcome = _post_in_thread(_completions(held), _chat_body(image_bytes))
    assert held.wait_for_faults(1)
    started = time.monotonic()
    held.stop()
    stopped_in = time.monotonic() - started
    client.join(5)

    assert stopped_in < 2.0
    assert not client.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], OSError)  # dropped without a reply
    assert held.faults_served == {Fault.TIMEOUT: 1}
    assert held.hung_up_early == 0  # the server hung up, not the client


def test_fake_server_timeout_fault_drops_the_connection_after_hang_seconds(
    image_bytes: bytes,
) -> None:
    with FakeVisionServer(hang_seconds=0.2) as held:
        held.inject(Fault.TIMEOUT)
        started = time.monotonic()
        with pytest.raises(http.client.RemoteDisconnected):
            _post(_completions(held), _chat_body(image_bytes))
        held_for = time.monotonic() - started
        after = _post(_completions(held), _chat_body(image_bytes))[0]

    assert held_for >= 0.2
    assert after == 200
    assert held.hung_up_early == 0


@pytest.mark.parametrize("fault", [None, Fault.TIMEOUT], ids=["latency", "timeout-fault"])
def test_fake_server_counts_a_client_that_hangs_up_while_held(
    image_bytes: bytes, fault: Fault | None
) -> None:
    with FakeVisionServer(latency=0.0 if fault else 30.0, hang_seconds=30.0) as held:
        if fault:
            held.inject(fault)
        arrived = held.wait_for_faults if fault else held.wait_for_requests
        _send_then_hang_up(held, _chat_body(image_bytes), lambda: arrived(1))
        hung_up = time.monotonic()

        assert _eventually(lambda: held.hung_up_early == 1)
        noticed_in = time.monotonic() - hung_up
        held.latency = 0.0
        after = _post(_completions(held), _chat_body(image_bytes))[0]

    assert noticed_in < 2.0  # far below the 30 s hold
    assert after == 200
    assert held.hung_up_early == 1
    assert held.max_concurrent == 1  # the held request was over before the next came


def test_fake_server_stop_releases_latency_wait_promptly(image_bytes: bytes) -> None:
    slow = FakeVisionServer(latency=30.0).start()
    client, outcome = _post_in_thread(_completions(slow), _chat_body(image_bytes))
    assert slow.wait_for_requests(1)

    started = time.monotonic()
    slow.stop()
    client.join(5)

    assert time.monotonic() - started < 2.0
    assert not client.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], OSError)
    assert slow.hung_up_early == 0


def test_fake_server_counts_peak_concurrency(image_bytes: bytes) -> None:
    with FakeVisionServer(latency=0.3) as slow:
        clients = [
            threading.Thread(target=_post, args=(_completions(slow), _chat_body(image_bytes)))
            for _ in range(4)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join(5)

        assert slow.requests == 4
        assert slow.max_concurrent == 4


def test_fake_server_lifecycle_guards() -> None:
    server = FakeVisionServer()
    with pytest.raises(RuntimeError, match="no address before it starts; call start"):
        _ = server.base_url
    server.stop()  # stopping a server that never started is harmless

    with pytest.raises(RuntimeError, match="Cannot start a FakeVisionServer that is stopped"):
        server.start()


def test_fake_server_stop_twice_and_port_is_closed(image_bytes: bytes) -> None:
    server = FakeVisionServer().start()
    url = _completions(server)
    server.stop()
    server.stop()

    with pytest.raises(urllib.error.URLError):
        _post(url, _chat_body(image_bytes))


def test_fake_server_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="hang_seconds must be in"):
        FakeVisionServer(hang_seconds=0)
    with pytest.raises(ValueError, match="latency must be >= 0"):
        FakeVisionServer(latency=-1)
    with pytest.raises(ValueError, match="times must be at least 1"):
        FakeVisionServer().inject(Fault.TIMEOUT, 0)


def test_fake_server_waits_time_out_when_nothing_arrives(
    server: FakeVisionServer,
) -> None:
    assert server.wait_for_requests(1, timeout=0.05) is False
    assert server.wait_for_faults(1, timeout=0.05) is False


def test_spawn_fake_server_serves_from_a_child_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, image_bytes: bytes
) -> None:
    monkeypatch.setenv("WORKERKIT_API_KEY", "spawn-key")
    path = tmp_path / "green.png"
    path.write_bytes(image_bytes)

    with spawn_fake_server(latency=0.05) as base_url:
        annotator = HttpAnnotator(HttpAnnotatorConfig(base_url=base_url, timeout=5.0))
        tags = annotator.annotate(path)

    assert base_url.startswith("http://127.0.0.1:")
    assert tags == LocalAnnotator().annotate(path)
    with pytest.raises(urllib.error.URLError):
        _post(f"{base_url}/chat/completions", _chat_body(image_bytes))


def test_spawn_fake_server_without_ready_in_time_raises_clear_error() -> None:
    with (
        pytest.raises(RuntimeError, match=r"did not print READY within 0\.001 s; raise"),
        spawn_fake_server(ready_timeout=0.001),
    ):
        pass
