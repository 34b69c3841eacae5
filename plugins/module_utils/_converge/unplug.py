# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unplugging, the part of applying a plan that differs most between micro and standard VMs.

Private to the stratovirt.qmp collection: may change in any release.

Micro VM: ``device_del`` is synchronous and host-only; it removes the backend too.
Standard VM: ``device_del`` presses the slot's attention button and answers at once; the device goes,
and ``DEVICE_DELETED`` comes, only when the guest powers the slot off (Linux waits about 5 s); the
backend stays until ``blockdev-del`` / ``netdev_del``, which StratoVirt would accept even while the
device is still attached, so they are sent only after the event.
"""

from __future__ import annotations

from typing import Dict

from .apply_session import ApplySession
from .._device.model import Device
from .._device.record import DeviceEntry
from .._device.errors import DeviceApplyError
from .._device.kinds.registry import kind_named
from .._device.steps import PURPOSE_UNPLUG, Step
from .._qmp.errors import QMPCommandError, QMPError, QMPTimeoutError
from .._dialect.dialect import MACHINE_MICRO

# A micro VM unplug is synchronous: the event is already read (up to 2.4) or follows the reply at once (2.5).
MICRO_EVENT_WAIT = 2.0


class Unplugger:
    """The unplug steps of a plan, sent in the :class:`ApplySession` the plug steps use too."""

    def __init__(self, session: ApplySession) -> None:
        self.session = session
        self.state = session.state
        self._defect_answers: Dict[str, str] = {}  # device id -> the defect answer its planned follow-up acts on

    def unplug(self, device_id: str, follow_up_planned: bool = False) -> None:
        """``device_del``; with ``follow_up_planned``, a defect answer is left to the planned follow-up step."""
        if self.state.dialect.machine == MACHINE_MICRO:
            self._unplug_micro(device_id, follow_up_planned)
        else:
            self._unplug_pci(device_id)

    def follow_up(self, device_id: str) -> None:
        """The planned second ``device_del``, sent only if the first one answered the NIC unplug defect."""
        first_answer = self._defect_answers.pop(device_id, None)
        if first_answer is not None:
            self._unplug_half_done(device_id, first_answer)

    # -- micro VM ---------------------------------------------------------

    def _unplug_micro(self, device_id: str, follow_up_planned: bool) -> None:
        try:
            self.session.send('device_del', {'id': device_id})
        except QMPCommandError as exc:
            dialect = self.state.dialect
            if dialect.is_absent_reply(exc.desc, device_id):
                self.session.notes.append('%s was already gone from the VM' % device_id)
                current = self.state.devices.get(device_id)
                self.session.forget(device_id)
                if current is not None and kind_named(current.kind).host_holds(self.state, current):
                    # An unplug cut before its answer: what the VM still holds (2.5.0: the tap) no other device may take.
                    self._keep_held(current)
                return
            if not dialect.is_nic_unplug_defect(exc.desc, device_id):
                raise self.session.fail(
                    Step('device_del', {'id': device_id}, PURPOSE_UNPLUG, device_id), exc, 'the device may still be plugged; check the VM and re-run'
                ) from exc
            if follow_up_planned:
                self.session.changed = True
                self._defect_answers[device_id] = exc.desc
            else:
                self._unplug_half_done(device_id, exc.desc)
            return
        try:
            self.session.client.wait_event('DEVICE_DELETED', device_id, timeout=MICRO_EVENT_WAIT)
        except QMPError:
            self.session.notes.append('no DEVICE_DELETED event came for %s; a micro VM unplug is complete at the reply' % device_id)
        self.session.forget(device_id)

    def _unplug_half_done(self, device_id: str, first_answer: str) -> None:
        # StratoVirt frees slot and config before the failing backend reset; a second device_del tells.
        self.session.changed = True
        self.session.sent.append({'execute': 'device_del', 'arguments': {'id': device_id}})
        try:
            self.session.client.execute('device_del', {'id': device_id})
        except QMPCommandError as exc:
            if not self.state.dialect.is_absent_reply(exc.desc, device_id):
                raise DeviceApplyError(
                    'device_del of %s answered %r and then %r; the device may still be plugged' % (device_id, first_answer, exc.desc)
                ) from exc
        unfinished = self.state.unfinished_plugs.get(device_id)
        current = self.state.devices.get(device_id) or (unfinished.as_device() if unfinished else None)
        self.session.forget(device_id)
        if current is not None:
            self._keep_held(current)

    def _keep_held(self, device: Device) -> None:
        note = kind_named(device.kind).keep_after_unplug(self.state, device)
        if note:
            self.session.notes.append(note)

    # -- standard VM ------------------------------------------------------

    def _unplug_pci(self, device_id: str) -> None:
        current = self.state.devices.get(device_id)
        dialect = self.state.dialect
        if current is not None and current.pending and not dialect.unplug_has_busy_check:
            # 2.1.0 has no busy check: a second press during a Linux guest's 5 s grace period would cancel it.
            if not kind_named(current.kind).host_holds(self.state, current):
                self.session.notes.append('the guest had completed the pending unplug of %s' % device_id)
            else:
                self._await_guest(device_id)
            self.state.devices.pop(device_id, None)
            return
        try:
            self.session.send('device_del', {'id': device_id})
        except QMPCommandError as exc:
            if dialect.is_absent_reply(exc.desc, device_id):
                if current is not None and current.pending:
                    self.session.notes.append('the guest had completed the pending unplug of %s' % device_id)
                self.state.devices.pop(device_id, None)
                return
            if not dialect.is_unplug_busy(exc.desc):
                raise self.session.fail(Step('device_del', {'id': device_id}, PURPOSE_UNPLUG, device_id), exc, 'the device is still plugged') from exc
        # Recorded before waiting: a run cut now must not press the button again (2.1.0) and must remove the backend.
        self._mark_pending(device_id)
        self._await_guest(device_id)
        self.state.devices.pop(device_id, None)

    def _await_guest(self, device_id: str) -> None:
        try:
            self.session.client.wait_event('DEVICE_DELETED', device_id, timeout=self.session.wait_timeout)
        except QMPTimeoutError:
            self._mark_pending(device_id)
            raise DeviceApplyError(
                'the guest has not let %s go within %ss (wait_timeout): the unplug is pending in the guest. '
                'A Linux guest takes about 5 s; one without PCIe hot-plug support (pciehp), or not booted yet, never '
                'does. The backend is kept; re-run the task later to finish the unplug, or raise wait_timeout' % (device_id, self.session.wait_timeout)
            ) from None

    def _mark_pending(self, device_id: str) -> None:
        entry = self.state.record.get(device_id)
        current = self.state.devices.get(device_id)
        if entry is None and current is not None:
            entry = DeviceEntry.from_device(current, addr='0x0')
        if entry is not None:
            entry.state = 'unplug-pending'
            self.state.record.put(entry)
            self.state.record.save()
        if current is not None:
            self.state.devices[device_id] = current._replace(pending=True)

    def delete_backend(self, step: Step) -> None:
        """``blockdev-del`` / ``netdev_del`` after the guest let the device go; an absent backend is fine."""
        entry = self.state.record.get(step.device_id)
        try:
            self.session.send(step.execute, step.arguments)
        except QMPCommandError as exc:
            if not self.state.dialect.is_backend_absent(exc.desc, step.device_id):
                raise self.session.fail(step, exc, 'the device is gone but its backend is still registered') from exc
        self.session.forget(step.device_id)
        if entry is not None:
            # 2.5.0 keeps the tap of a removed standard VM NIC open; the host view drops this once it is released.
            self._keep_held(entry.as_device())
        self.state.record.save()
