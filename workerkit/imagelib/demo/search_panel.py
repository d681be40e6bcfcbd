"""The search form: tags with AND/OR, caption text, minimum resolution, and a Search button."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from workerkit.imagelib.domain.conditions import SearchConditions

__all__ = ["SearchPanel"]

_MAX_RESOLUTION = 20_000


class SearchPanel(QGroupBox):
    """Collect search conditions; emit them when the user asks for a search."""

    search_requested = Signal(object)
    invalid = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Search", parent)
        self.tags = QLineEdit(self)
        self.tags.setPlaceholderText("e.g. outdoor, sunset")
        self.match = QComboBox(self)
        self.match.addItem("AND: every tag", "and")
        self.match.addItem("OR: any tag", "or")
        self.caption = QLineEdit(self)
        self.caption.setPlaceholderText("words in the caption")
        self.min_resolution = QSpinBox(self)
        self.min_resolution.setRange(0, _MAX_RESOLUTION)
        self.min_resolution.setSingleStep(100)
        self.min_resolution.setSuffix(" px")
        self.min_resolution.setSpecialValueText("any")
        self.search_button = QPushButton("Search", self)
        self.search_button.setDefault(True)
        self._lay_out()
        self.search_button.clicked.connect(self.request_search)
        self.tags.returnPressed.connect(self.request_search)
        self.caption.returnPressed.connect(self.request_search)

    def conditions(self) -> SearchConditions:
        """Return the conditions the form describes; raise ValueError if they are invalid."""
        side = self.min_resolution.value() or None
        return SearchConditions(
            tags=self.tags.text(),  # type: ignore[arg-type]  # a string is split on commas
            match=self.match.currentData(),
            caption=self.caption.text(),
            min_width=side,
            min_height=side,
        )

    @Slot()
    def request_search(self) -> None:
        """Emit search_requested with the form's conditions, or invalid with the reason."""
        try:
            conditions = self.conditions()
        except ValueError as exc:
            self.invalid.emit(str(exc))
            return
        self.search_requested.emit(conditions)

    def _lay_out(self) -> None:
        layout = QFormLayout(self)
        layout.addRow("Tags:", self.tags)
        layout.addRow("Match:", self.match)
        layout.addRow("Caption:", self.caption)
        layout.addRow("Min. side:", self.min_resolution)
        layout.addRow(self.search_button)
