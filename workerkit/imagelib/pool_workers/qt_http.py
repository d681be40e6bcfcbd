"""An HTTP POST that awaits a QNetworkAccessManager reply, for code running under QtAsyncio.

QtAsyncio's event loop is the Qt event loop and cannot open sockets itself
(``loop.create_connection`` raises NotImplementedError up to at least PySide6
6.11), so aiohttp cannot run on it. QNetworkAccessManager does its own I/O and
reports through Qt signals, which reach a coroutine through an asyncio future.
Everything here runs on the thread of QtAsyncio's loop (the GUI thread).
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QByteArray, QThread, QUrl
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest

__all__ = ["QtHttpError", "qt_post", "require_qt_event_loop"]

Error = QNetworkReply.NetworkError

# Errors below 200 are network and proxy failures (refused, timed out, reset, ...);
# Qt reports HTTP error statuses with content (2xx) and server (4xx) codes instead.
_TRANSPORT_ERROR_LIMIT = 200
_PROTOCOL_FAILURES = frozenset({Error.ProtocolUnknownError, Error.ProtocolFailure})


class QtHttpError(Exception):
    """Report that a POST got no complete HTTP reply: the network failed or it timed out.

    ``code`` is the QNetworkReply.NetworkError name (e.g. ``ConnectionRefusedError``)
    and ``timed_out`` is True when the transfer timeout ended the request.
    """

    def __init__(self, url: str, code: str, message: str, *, timed_out: bool) -> None:
        super().__init__(url, code, message)
        self.url = url
        self.code = code
        self.message = message
        self.timed_out = timed_out

    def __str__(self) -> str:
        fix = (
            "raise the timeout or check that the server answers"
            if self.timed_out
            else "check the URL and that the server is running"
        )
        return (
            f"The POST to {self.url} got no complete HTTP reply ({self.code}: {self.message}); "
            f"{fix}."
        )


async def qt_post(
    manager: QNetworkAccessManager,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    timeout_s: float,
) -> tuple[int, dict[str, str], bytes]:
    """POST ``body`` to ``url`` and return (status, headers, body) of any HTTP reply.

    Raise QtHttpError when no complete reply came. ``timeout_s`` is Qt's transfer
    timeout: the request fails once no bytes moved for that long, like urllib's
    socket timeout. Cancelling the awaiting task aborts the request.
    """
    if not timeout_s > 0:
        raise ValueError(f"qt_post needs a positive timeout_s in seconds, got {timeout_s!r}.")
    require_qt_event_loop(manager)
    reply = manager.post(_build_request(url, headers, timeout_s), QByteArray(body))
    try:
        await _finished(reply)
        return _read_reply(reply, url)
    finally:
        _discard(reply)


def require_qt_event_loop(manager: QNetworkAccessManager) -> None:
    """Raise RuntimeError unless a Qt event loop runs on this thread, which owns ``manager``."""
    here = QThread.currentThread()
    if here.loopLevel() == 0:
        raise RuntimeError(
            "qt_post needs a running Qt event loop on this thread, such as QtAsyncio.run(): "
            "QNetworkReply reports through Qt signals, which nothing would deliver here. On a "
            "plain asyncio loop use HttpAnnotator.annotate_async with aiohttp instead."
        )
    if manager.thread() != here:
        raise RuntimeError(
            "qt_post must run on the thread that owns the QNetworkAccessManager; create the "
            "manager on the thread of the event loop that awaits the reply."
        )


def _build_request(url: str, headers: dict[str, str], timeout_s: float) -> QNetworkRequest:
    """Return the QNetworkRequest for ``url`` with ``headers`` and the transfer timeout."""
    request = QNetworkRequest(QUrl(url))
    for name, value in headers.items():
        request.setRawHeader(QByteArray(name.encode("latin-1")), QByteArray(value.encode()))
    request.setTransferTimeout(max(1, round(timeout_s * 1000)))
    return request


async def _finished(reply: QNetworkReply) -> None:
    """Wait until ``reply`` emits finished."""
    done = asyncio.get_running_loop().create_future()

    def settle() -> None:
        # abort() on cancellation emits finished after the future was cancelled; QtAsyncio's
        # futures do not refuse a second result, so check first.
        if not done.done():
            done.set_result(None)

    reply.finished.connect(settle)
    if reply.isFinished():
        settle()
    await done


def _read_reply(reply: QNetworkReply, url: str) -> tuple[int, dict[str, str], bytes]:
    """Return status, headers and body of a finished reply, or raise QtHttpError."""
    status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
    error = reply.error()
    if status is None or _is_transport_error(error):
        raise QtHttpError(
            url, error.name, reply.errorString(), timed_out=error is Error.TimeoutError
        )
    headers = {
        bytes(name.data()).decode("latin-1"): bytes(value.data()).decode("latin-1")
        for name, value in reply.rawHeaderPairs()
    }
    return int(status), headers, bytes(reply.readAll().data())


def _is_transport_error(error: QNetworkReply.NetworkError) -> bool:
    """Return True when ``error`` means the reply is missing or incomplete."""
    return (
        error is not Error.NoError and error.value < _TRANSPORT_ERROR_LIMIT
    ) or error in _PROTOCOL_FAILURES


def _discard(reply: QNetworkReply) -> None:
    """Abort ``reply`` if it is still running, and let Qt delete it."""
    if not reply.isFinished():
        reply.abort()
    # The manager parents every reply and would keep it until the manager dies.
    reply.deleteLater()
