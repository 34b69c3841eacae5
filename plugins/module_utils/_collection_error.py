# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The root of every error the collection raises on purpose, transport errors included.

Private to the stratovirt.qmp collection: may change in any release.
Standard library only and no Ansible imports: the QMP transport derives from it too.
"""

from __future__ import annotations


class CollectionError(Exception):
    """Something this collection detected and can explain; ``message`` says what failed, not on which VM.

    The Ansible adapter names the VM once, in front of the message.
    """

    def __init__(self, message: str, names_vm: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self._names_vm = names_vm

    @property
    def names_vm(self) -> bool:
        """Whether ``message`` already names the VM (its socket), so the adapter does not name it again."""
        return self._names_vm
