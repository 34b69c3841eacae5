# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the device layer: what the modules report through one ``fail_json``.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import List, Optional


class DeviceError(Exception):
    """Root of the device layer's errors.

    :ivar applied: the QMP commands already sent and accepted when the error happened.
    """

    def __init__(self, message: str, applied: Optional[List[dict]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.applied = list(applied or [])


class DeviceInputError(DeviceError):
    """The task asks for something that cannot or must not be sent; nothing was changed."""


class DeviceApplyError(DeviceError):
    """StratoVirt refused a command; ``applied`` says what was done (and rolled back) before."""
