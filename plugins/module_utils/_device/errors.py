# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the device layer: what the modules report through one ``fail_json``.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import Dict

from .._collection_error import CollectionError


class DeviceError(CollectionError):
    """Root of the device layer's errors; what was sent before is in the result's ``commands``."""


class DeviceInputError(DeviceError):
    """The task asks for something that cannot or must not be sent; nothing was changed."""


class FleetInputError(DeviceInputError):
    """One or more VM declarations are wrong; nothing was sent to any VM."""

    def __init__(self, problems: Dict[str, str]) -> None:
        super().__init__(
            '%d of the declared VMs %s wrong, so nothing was sent to any VM: %s'
            % (len(problems), 'is' if len(problems) == 1 else 'are', '; '.join('%s: %s' % (name, problem) for name, problem in problems.items()))
        )
        self.problems = problems


class DeviceApplyError(DeviceError):
    """StratoVirt refused a command; the message says what was done (and rolled back) before."""
