# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors of the QMP transport.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from .._collection_error import CollectionError


class QMPError(CollectionError):
    """Root of every error raised by the QMP transport.

    The client is usable on its own, so its messages name the monitor socket where that helps.
    """

    def __init__(self, message: str, socket_path: str | None = None) -> None:
        super().__init__(message, names_vm=socket_path is not None and socket_path in message)
        self.socket_path = socket_path


class QMPConnectionError(QMPError):
    """The monitor socket could not be reached (missing, not a socket, refused, no listener)."""


class QMPBusyError(QMPConnectionError):
    """Another client holds or waits for the monitor, which serves one client at a time.

    :ivar holders: (pid, command name) of each process found holding the monitor's client end.
    """

    def __init__(self, message: str, socket_path: str | None = None, holders: list | None = None) -> None:
        super().__init__(message, socket_path)
        self.holders = list(holders or [])


class QMPLockTimeout(QMPConnectionError):
    """Another run of this collection held the per-VM lock for longer than the timeout."""


class QMPProtocolError(QMPError):
    """The peer broke the QMP protocol: bad greeting, bad JSON, unexpected message."""


class QMPDisconnectedError(QMPProtocolError):
    """The peer closed the connection; with StratoVirt this usually means the VM process exited."""


class QMPTimeoutError(QMPError):
    """No greeting, reply or event arrived within the timeout."""


class QMPCommandError(QMPError):
    """A command was answered with ``{"error": ...}``.

    :ivar error_class: QMP ``class`` (StratoVirt uses ``GenericError`` for nearly everything).
    :ivar desc: QMP ``desc``, the only signal StratoVirt gives; match it exactly.
    :ivar command: the payload that was sent.
    """

    def __init__(self, error_class: str, desc: str, command: dict, socket_path: str | None = None) -> None:
        super().__init__('%s failed: %s' % (command.get('execute'), desc), socket_path)
        self.error_class = error_class
        self.desc = desc
        self.command = command
