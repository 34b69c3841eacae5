# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What applying one plan has sent, noted and changed so far, and the acts its plug and unplug sides share.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import List

from .._device.errors import DeviceApplyError
from .._qmp.errors import QMPCommandError
from .._device.steps import Step


class ApplySession:
    """One plan's application on one connected client to the VM whose state is ``state``."""

    def __init__(self, client, state, wait_timeout: float) -> None:
        self.client = client
        self.state = state
        self.wait_timeout = wait_timeout
        self.sent: List[dict] = []
        self.notes: List[str] = []
        self.changed = False

    def send(self, execute: str, arguments: dict) -> None:
        """Send one command; it counts as sent (and the VM as changed) even if StratoVirt refuses it."""
        # A copy: a retry at the next free place changes the caller's arguments, not what was sent before.
        command = {'execute': execute, 'arguments': dict(arguments)}
        self.sent.append(command)
        self.client.execute(execute, arguments)
        self.changed = True

    @staticmethod
    def fail(step: Step, exc: Exception, what_now: str) -> DeviceApplyError:
        said = exc.desc if isinstance(exc, QMPCommandError) else str(exc)
        return DeviceApplyError('%s of %s failed: StratoVirt said %r; %s' % (step.execute, step.device_id, said, what_now))

    def forget(self, device_id: str) -> None:
        """The device is gone: from the VM's current devices and from the record (saved by the caller)."""
        self.state.devices.pop(device_id, None)
        self.state.record.remove(device_id)
