"""The worker-stack panel: one selector per job kind that reroutes new jobs live."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from workerkit.flags import FLAG_VALUES
from workerkit.imagelib.kinds import Kind, app

if TYPE_CHECKING:
    from workerkit.imagelib.service import WorkerService

__all__ = ["StackPanel", "choices_for"]


def choices_for(kind: Kind) -> tuple[str, ...]:
    """Return the routes a kind may take; shadow runs jobs twice, so only read-only kinds."""
    return (
        FLAG_VALUES if app.kind(kind).shadowable else tuple(v for v in FLAG_VALUES if v != "shadow")
    )


class StackPanel(QGroupBox):
    """Show where each kind's new jobs go and call service.set_stack when the user changes it."""

    stack_changed = Signal(str, str)
    rejected = Signal(str)

    def __init__(self, service: WorkerService, parent: QWidget | None = None) -> None:
        super().__init__("Worker stacks", parent)
        self.service = service
        self.selectors: dict[Kind, QComboBox] = {}
        layout = QFormLayout(self)
        for kind in Kind:
            selector = self._make_selector(kind)
            self.selectors[kind] = selector
            layout.addRow(QLabel(f"{kind.value.capitalize()}:", self), selector)
        self.refresh()

    def refresh(self) -> None:
        """Show the service's current route and its source for every kind."""
        sources = self.service.flag_sources()
        for kind, selector in self.selectors.items():
            selector.blockSignals(True)
            selector.setCurrentText(self.service.stack_for(kind))
            selector.blockSignals(False)
            selector.setToolTip(f"set by {sources.get(kind.value, 'default')}")

    def _make_selector(self, kind: Kind) -> QComboBox:
        selector = QComboBox(self)
        selector.addItems(list(choices_for(kind)))
        selector.currentTextChanged.connect(partial(self._choose, kind))
        return selector

    def _choose(self, kind: Kind, name: str) -> None:
        try:
            self.service.set_stack(kind, name)
        except ValueError as exc:
            self.rejected.emit(str(exc))
        self.refresh()
        if self.service.stack_for(kind) == name:
            self.stack_changed.emit(kind.value, name)
