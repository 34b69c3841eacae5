# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the device layer: what the modules report through one ``fail_json``.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from .._collection_error import CollectionError


class DeviceError(CollectionError):
    """Root of the device layer's errors; what was sent before is in the result's ``commands``."""


class DeviceInputError(DeviceError):
    """The task asks for something that cannot or must not be sent; nothing was changed."""


class DeviceApplyError(DeviceError):
    """StratoVirt refused a command; the message says what was done (and rolled back) before."""
