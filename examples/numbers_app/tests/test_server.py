"""The local page server: pages, 404s, and the bounds that stop it by itself."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import pytest

from examples.numbers_app.server import PageServer, page_body


def get(url: str) -> bytes:
    """Return the body at ``url``."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def test_serves_numbered_pages(local_server: PageServer) -> None:
    """Answer /page/<n> with page_body(n) on 127.0.0.1."""
    assert local_server.base_url.startswith("http://127.0.0.1:")
    assert get(local_server.url(3)) == page_body(3) == b"page 3\n" * 4
    assert local_server.requests == 1


def test_other_paths_are_not_found(local_server: PageServer) -> None:
    """Answer 404 for a path that is not a page."""
    with pytest.raises(urllib.error.HTTPError) as raised:
        get(f"{local_server.base_url}/page/x")
    assert raised.value.code == 404
    raised.value.close()


def test_stops_itself_after_its_lifetime() -> None:
    """Stop serving once the lifetime has passed, without being told."""
    with PageServer(lifetime=0.2) as server:
        assert server.stopping.wait(5.0)
        assert server.wait_stopped(5.0)
        with pytest.raises(urllib.error.URLError):
            get(server.url(1))


def test_refuses_requests_beyond_the_limit() -> None:
    """Answer 503 past max_requests and stop serving."""
    with PageServer(max_requests=1) as server:
        assert get(server.url(1)) == page_body(1)
        with pytest.raises(urllib.error.HTTPError) as raised:
            get(server.url(2))
        assert raised.value.code == 503
        raised.value.close()
        assert server.wait_stopped(5.0)


def test_stop_cuts_a_pending_delay_short() -> None:
    """Let a stop end a request that waits out a long delay."""
    with PageServer(delay=30.0) as server:
        url = server.url(1)
        errors: list[BaseException] = []

        def fetch() -> None:
            try:
                get(url)
            except Exception as exc:
                errors.append(exc)

        client = threading.Thread(target=fetch)
        client.start()
        assert server.request_seen.wait(5.0)
    client.join(5.0)
    assert not client.is_alive()
    assert errors, "the delayed request should have been cut off"


def test_delayed_requests_are_served_at_the_same_time() -> None:
    """Hold several delayed requests at once, and cut them all short on stop."""
    with PageServer(delay=30.0) as server:
        errors: list[BaseException] = []

        def fetch(url: str) -> None:
            try:
                get(url)
            except Exception as exc:
                errors.append(exc)

        clients = [threading.Thread(target=fetch, args=(url,)) for url in server.urls(3)]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 5.0
        while server.requests < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.requests == 3, "a delayed request held up the others"
    for client in clients:
        client.join(5.0)
    assert not any(client.is_alive() for client in clients)
    assert len(errors) == 3
