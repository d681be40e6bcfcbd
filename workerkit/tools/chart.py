"""Draw the comparison as a PNG: one ratio bar per row on a log scale around the 1x line.

A row with a peer ratio (simplified against superqt) gets a second bar beneath,
in the peer's colours.

Drawn with QPainter on a QImage, so it needs no plotting library and works
with the offscreen platform.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QImage, QPainter, QPen

from workerkit.tools.benchmarks.rows import Row

__all__ = ["render_chart"]

_WIDTH = 1500
_LABEL_W = 450
_RIGHT_W = 360
_ROW_H = 26
_HEADER_H = 104
_GROUP_H = 30
_FOOTER_H = 56
_MARGIN = 24

_BETTER = "#2e8b57"
_WORSE = "#c0392b"
_PEER_BETTER = "#2f6db5"
_PEER_WORSE = "#e08a1e"
_GRID = "#d9d9d9"
_TEXT = "#202020"
_MUTED = "#6b6b6b"


def render_chart(
    rows: Sequence[Row], path: Path, *, title: str, subtitle: str, peer: str = "superqt"
) -> Path:
    """Draw the rows that have a ratio into a PNG at ``path``; ``peer`` names the peer bars."""
    _ensure_gui_application()

    shown = [row for row in rows if row.ratio is not None or row.peer_ratio is not None]
    groups = list(dict.fromkeys(row.worker for row in shown))
    bars = sum(_bars(row) for row in shown)
    height = _HEADER_H + len(groups) * _GROUP_H + bars * _ROW_H + _FOOTER_H
    image = QImage(_WIDTH, max(height, 200), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        scale = _LogScale(shown)
        _draw_header(painter, title, subtitle)
        top: float = _HEADER_H
        _draw_grid(painter, scale, top, height - _FOOTER_H)
        for group in groups:
            members = [r for r in shown if r.worker == group]
            top = _draw_group(painter, scale, group, members, top, peer)
        _draw_footer(painter, height, peer if any(r.peer_ratio for r in shown) else None)
    finally:
        # A QPainter left active on a QImage corrupts the image when both are freed.
        painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    # PySide6's stub types the format as bytes, but at runtime QImage.save takes only a
    # str there (bytes raises ValueError): the stub is wrong.
    if not image.save(str(path), "PNG"):  # type: ignore[call-overload]
        raise OSError(
            f"Could not write the chart to {path}; check that the folder is writable "
            "or pass another --chart path."
        )
    return path


class _LogScale:
    """Map ratios to x positions on a log scale that always shows 1x."""

    def __init__(self, rows: Sequence[Row]) -> None:
        ratios = [r for row in rows for r in (row.ratio, row.peer_ratio) if r]
        low = min([0.5, *ratios])
        high = max([2.0, *ratios])
        self.low = 10 ** math.floor(math.log10(low))
        self.high = 10 ** math.ceil(math.log10(high))
        self.left = _LABEL_W
        self.right = _WIDTH - _RIGHT_W

    def x(self, value: float) -> float:
        clamped = min(max(value, self.low), self.high)
        share = math.log10(clamped / self.low) / math.log10(self.high / self.low)
        return self.left + share * (self.right - self.left)

    def ticks(self) -> list[float]:
        decades = range(round(math.log10(self.low)), round(math.log10(self.high)) + 1)
        return [10.0**d for d in decades]


def _draw_header(p: QPainter, title: str, subtitle: str) -> None:

    font = QFont()
    font.setPixelSize(22)
    font.setBold(True)
    p.setFont(font)
    p.setPen(QColor(_TEXT))
    flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    p.drawText(QRectF(_MARGIN, 10, _WIDTH - 2 * _MARGIN, 32), flags, title)
    font.setPixelSize(14)
    font.setBold(False)
    p.setFont(font)
    p.setPen(QColor(_MUTED))
    p.drawText(QRectF(_MARGIN, 44, _WIDTH - 2 * _MARGIN, 24), flags, subtitle)


def _draw_grid(p: QPainter, scale: _LogScale, top: float, bottom: float) -> None:

    font = QFont()
    font.setPixelSize(12)
    p.setFont(font)
    for tick in scale.ticks():
        x = scale.x(tick)
        one = math.isclose(tick, 1.0)
        pen = QPen(QColor(_TEXT if one else _GRID))
        pen.setWidthF(2.0 if one else 1.0)
        p.setPen(pen)
        p.drawLine(QLineF(x, top - 6, x, bottom))
        p.setPen(QColor(_TEXT if one else _MUTED))
        p.drawText(QRectF(x - 40, top - 24, 80, 16), Qt.AlignmentFlag.AlignCenter, f"{tick:g}x")
    p.setPen(QColor(_MUTED))
    left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    p.drawText(QRectF(_WIDTH - _RIGHT_W + 80, top - 24, 240, 16), left, "issue target, this run")


def _bars(row: Row) -> int:
    """Return how many bars ``row`` gets: its ratio's and its peer ratio's."""
    return (row.ratio is not None) + (row.peer_ratio is not None)


def _draw_group(
    p: QPainter, scale: _LogScale, worker: str, rows: Sequence[Row], top: float, peer: str
) -> float:

    font = QFont()
    font.setPixelSize(15)
    font.setBold(True)
    p.setFont(font)
    p.setPen(QColor(_TEXT))
    left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    p.drawText(QRectF(_MARGIN, top + 4, _LABEL_W, _GROUP_H - 4), left, worker)
    top += _GROUP_H
    for row in rows:
        if row.ratio is not None:
            _draw_row(p, scale, row, top)
            top += _ROW_H
        if row.peer_ratio is not None:
            label = f"{row.metric}: vs {peer}" if row.ratio is None else f"vs {peer}"
            _draw_bar(p, scale, label, row.peer_ratio, top, peer=True)
            top += _ROW_H
    return top


def _draw_bar(
    p: QPainter, scale: _LogScale, label: str, value: float, top: float, *, peer: bool = False
) -> None:
    """Draw one labelled ratio bar from the 1x line; a peer's is indented, in its colours."""
    font = QFont()
    font.setPixelSize(13)
    p.setFont(font)
    p.setPen(QColor(_MUTED if peer else _TEXT))
    left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    indent = _MARGIN + (34 if peer else 14)
    p.drawText(QRectF(indent, top, _LABEL_W - indent - 10, _ROW_H), left, label)
    one, end = scale.x(1.0), scale.x(value)
    better, worse = (_PEER_BETTER, _PEER_WORSE) if peer else (_BETTER, _WORSE)
    colour = QColor(better if value >= 1 else worse)
    p.fillRect(QRectF(min(one, end), top + 5, max(abs(end - one), 2.0), _ROW_H - 10), colour)
    text_x = max(one, end) + 6 if value >= 1 else min(one, end) - 66
    p.setPen(QColor(_TEXT))
    p.drawText(QRectF(text_x, top, 60, _ROW_H), left if value >= 1 else right, _ratio_text(value))


def _draw_row(p: QPainter, scale: _LogScale, row: Row, top: float) -> None:

    assert row.ratio is not None
    _draw_bar(p, scale, row.metric, row.ratio, top)
    left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    font = QFont()
    verdict = (
        None if row.met is None else {True: ("met", _BETTER), False: ("missed", _WORSE)}[row.met]
    )
    if verdict is not None and row.target:
        font.setPixelSize(12)
        p.setFont(font)
        p.setPen(QColor(verdict[1]))
        box = QRectF(_WIDTH - _RIGHT_W + 80, top, _RIGHT_W - 90, _ROW_H)
        text = QFontMetrics(font).elidedText(
            f"{verdict[0]}: {row.target}", Qt.TextElideMode.ElideRight, int(box.width())
        )
        p.drawText(box, left, text)


def _draw_footer(p: QPainter, height: int, peer: str | None) -> None:

    font = QFont()
    font.setPixelSize(13)
    p.setFont(font)
    p.setPen(QColor(_MUTED))
    text = (
        "Bars show legacy/simplified (lower-is-better metrics) or simplified/legacy "
        "(higher-is-better), on a log scale: right of the 1x line the simplified stack is better."
    )
    left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    width = _WIDTH - 2 * _MARGIN
    if peer is None:
        p.drawText(QRectF(_MARGIN, height - _FOOTER_H + 12, width, 32), left, text)
        return
    p.drawText(QRectF(_MARGIN, height - _FOOTER_H + 6, width, 22), left, text)
    versus = (
        f"Blue (better) and orange (worse) bars: the simplified stack against {peer}'s "
        "create_worker doing the same work (peer/simplified, or simplified/peer)."
    )
    p.drawText(QRectF(_MARGIN, height - _FOOTER_H + 28, width, 22), left, versus)


def _ratio_text(value: float) -> str:
    return f"{value:.0f}x" if value >= 100 else f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def _ensure_gui_application() -> None:
    """Create a QGuiApplication if none exists (fonts need one), offscreen without a display."""
    if QGuiApplication.instance() is not None:
        return
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Held for the life of the process: the application must outlive every painter.
    _APPLICATION.append(QGuiApplication(sys.argv[:1]))


_APPLICATION: list[QGuiApplication] = []
