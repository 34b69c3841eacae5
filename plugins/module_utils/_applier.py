# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send a plan's commands, read StratoVirt's answers, keep the record true, roll back a half plug.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import List

from ._device_record import DeviceEntry
from ._device_spec import KIND_DISK, KIND_NIC
from ._errors import DeviceApplyError
from ._planner import PURPOSE_BACKEND, PURPOSE_UNPLUG, Plan, Step
from ._qmp_errors import QMPCommandError, QMPError
from ._stratovirt import MICRO_DISK_SLOTS, MICRO_NIC_SLOTS
from ._vm_state import VMState

# A micro VM unplug is synchronous: the event is already read (up to 2.4) or follows the reply at once (2.5).
MICRO_EVENT_WAIT = 2.0


class Applier:
    """Runs one plan on one connected client.

    ``sent`` lists every command sent, in order; ``applied`` those StratoVirt accepted.
    """

    def __init__(self, client, state: VMState, socket_path: str) -> None:
        self.client = client
        self.state = state
        self.socket_path = socket_path
        self.sent: List[dict] = []
        self.applied: List[dict] = []
        self.notes: List[str] = []
        self.changed = False

    def apply(self, plan: Plan) -> None:
        """:raises DeviceApplyError: StratoVirt refused a step; what was applied and rolled back is said."""
        for step in plan.steps:
            if step.purpose == PURPOSE_UNPLUG:
                self.unplug(step.device_id)
            elif step.purpose == PURPOSE_BACKEND:
                self._note_plugging(plan)
                self._add_backend(step)
            else:
                self._add_device(step, plan)
        if plan.entry is not None:
            plan.entry.state = 'plugged'
            self.state.record.put(plan.entry)
        self.state.record.save()

    def _note_plugging(self, plan: Plan) -> None:
        # Written before the first plug command: a run that dies half-way leaves a trace the next run acts on.
        plan.entry.state = 'plugging'
        self.state.record.put(plan.entry)
        self.state.record.save()

    # -- QMP --------------------------------------------------------------

    def _send(self, execute: str, arguments: dict) -> None:
        command = {'execute': execute, 'arguments': arguments}
        self.sent.append(command)
        self.client.execute(execute, arguments)
        self.applied.append(command)
        self.changed = True

    def _fail(self, step: Step, exc: Exception, what_now: str) -> DeviceApplyError:
        said = exc.desc if isinstance(exc, QMPCommandError) else str(exc)
        return DeviceApplyError('%s of %s on VM %s failed: StratoVirt said %r; %s'
                                % (step.execute, step.device_id, self.socket_path, said, what_now), self.applied)

    # -- unplug -----------------------------------------------------------

    def unplug(self, device_id: str) -> None:
        """``device_del``; also the only way to drop a micro VM backend (``blockdev-del`` always fails there)."""
        try:
            self._send('device_del', {'id': device_id})
        except QMPCommandError as exc:
            if exc.desc == 'Device %s not found' % device_id:
                self.notes.append('%s was already gone from the VM' % device_id)
                self._forget(device_id)
                return
            if exc.desc != '%s: failed to update config.' % device_id:
                raise self._fail(Step('device_del', {'id': device_id}, PURPOSE_UNPLUG, device_id), exc,
                                 'the device may still be plugged; check the VM and re-run') from exc
            self._unplug_half_done(device_id)
            return
        self._await_deleted(device_id)
        self._forget(device_id)

    def _unplug_half_done(self, device_id: str) -> None:
        # StratoVirt frees slot and config before the failing backend reset; a second device_del tells.
        self.changed = True
        self.sent.append({'execute': 'device_del', 'arguments': {'id': device_id}})
        try:
            self.client.execute('device_del', {'id': device_id})
        except QMPCommandError as exc:
            if exc.desc != 'Device %s not found' % device_id:
                raise DeviceApplyError('device_del of %s on VM %s answered "failed to update config." and then %r; the '
                                       'device may still be plugged' % (device_id, self.socket_path, exc.desc),
                                       self.applied) from exc
        current = self.state.devices.get(device_id)
        if current is not None and current.ifname and self.state.dialect.nic_unplug_keeps_tap:
            entry = self.state.record.get(device_id)
            self._forget(device_id)
            self._keep_tap_held(device_id, current.ifname, entry)
            self.notes.append('NIC %s is unplugged but StratoVirt %s keeps its tap %s open until the VM exits; that tap '
                              'cannot be plugged again in this VM' % (device_id, self.state.dialect.release_text,
                                                                      current.ifname))
        else:
            self._forget(device_id)

    def _keep_tap_held(self, device_id, ifname, entry) -> None:
        slot = entry.slot if entry is not None else None
        self.state.record.put(DeviceEntry(device_id, 'nic', state='tap-held', slot=slot, ifname=ifname))
        self.state.held_after_unplug[ifname] = device_id

    def _await_deleted(self, device_id: str) -> None:
        try:
            self.client.wait_event('DEVICE_DELETED', device_id, timeout=MICRO_EVENT_WAIT)
        except QMPError:
            self.notes.append('no DEVICE_DELETED event came for %s; a micro VM unplug is complete at the reply' % device_id)

    def _forget(self, device_id: str) -> None:
        self.state.devices.pop(device_id, None)
        self.state.record.remove(device_id)

    # -- plug -------------------------------------------------------------

    def _add_backend(self, step: Step) -> None:
        try:
            self._send(step.execute, step.arguments)
        except QMPCommandError as exc:
            self._forget(step.device_id)
            self.state.record.save()
            if exc.desc == '%s is already registered.' % step.device_id:
                # Not ours to remove: the record does not know it, and device_del would unplug whatever it is.
                raise self._fail(step, exc, 'the VM already has a backend %s that the device record does not know '
                                 '(plugged by hand, or the record was deleted): unplug it first (state=absent) or use '
                                 'another id' % step.device_id) from exc
            raise self._fail(step, exc, 'nothing of %s was plugged' % step.device_id) from exc

    def _add_device(self, step: Step, plan: Plan) -> None:
        arguments = dict(step.arguments)
        kind = KIND_DISK if 'blk' in arguments['driver'] else KIND_NIC
        limit = MICRO_DISK_SLOTS if kind == KIND_DISK else MICRO_NIC_SLOTS
        while True:
            try:
                self._send(step.execute, arguments)
                break
            except QMPCommandError as exc:
                slot = int(arguments['addr'], 16)
                occupied = exc.desc == 'The slot %d is occupied already.' % slot
                following = self._free_after(kind, slot, limit) if occupied and plan.auto_slot else None
                if following is not None:
                    # A device unknown to the record (adopted, slot unknown) sits there: try the next free slot.
                    arguments['addr'] = '0x%x' % following
                    continue
                self._roll_back(step, exc)
        if plan.entry is not None:
            plan.entry.slot = int(arguments['addr'], 16)

    def _free_after(self, kind: str, slot: int, limit: int):
        used = {device.slot for device in self.state.devices.values() if device.kind == kind and device.slot is not None}
        for candidate in range(slot + 1, limit):
            if candidate not in used:
                return candidate
        return None

    def _roll_back(self, step: Step, exc: QMPCommandError) -> None:
        try:
            self.unplug(step.device_id)
            self.state.record.save()
        except DeviceApplyError as rollback_error:
            raise self._fail(step, exc, 'rolling back its backend failed too (%s); re-run the task to clean up'
                             % rollback_error.message) from exc
        raise self._fail(step, exc, 'its backend was removed again (rolled back with device_del); nothing of %s is plugged'
                         % step.device_id) from exc
