# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send a plan's commands, read StratoVirt's answers, keep the record true, roll back a half plug.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import List, NoReturn, Optional

from .apply_session import ApplySession
from .._device.errors import DeviceApplyError
from .._device.kinds.registry import kind_named
from .planner import Plan, backend_del_step
from .._qmp.errors import QMPCommandError
from .._device.steps import PURPOSE_BACKEND, PURPOSE_BACKEND_DEL, PURPOSE_UNPLUG, PURPOSE_UNPLUG_FOLLOW_UP, Step
from .._dialect.dialect import MACHINE_MICRO
from .unplug import Unplugger
from .._device.state import VMState


class Applier:
    """Runs one plan on one connected client: the plug steps here, the unplug steps by its :class:`Unplugger`."""

    def __init__(self, client, state: VMState, wait_timeout: float) -> None:
        self.session = ApplySession(client, state, wait_timeout)
        self.state = state
        self.unplugger = Unplugger(self.session)

    @property
    def sent(self) -> List[dict]:
        """Every command sent, in order (the one a transport error cut off included)."""
        return self.session.sent

    @property
    def notes(self) -> List[str]:
        return self.session.notes

    @property
    def changed(self) -> bool:
        return self.session.changed

    def apply(self, plan: Plan) -> None:
        """:raises DeviceApplyError: StratoVirt refused a step; what was applied and rolled back is said."""
        for index, step in enumerate(plan.steps):
            if step.purpose == PURPOSE_UNPLUG:
                following = plan.steps[index + 1 : index + 2]
                self.unplugger.unplug(step.device_id, bool(following) and following[0].purpose == PURPOSE_UNPLUG_FOLLOW_UP)
            elif step.purpose == PURPOSE_UNPLUG_FOLLOW_UP:
                self.unplugger.follow_up(step.device_id)
            elif step.purpose == PURPOSE_BACKEND_DEL:
                self.unplugger.delete_backend(step)
            elif step.purpose == PURPOSE_BACKEND:
                self._note_plugging(plan)
                self._add_backend(step, plan)
            else:
                self._add_device(step, plan)
        if plan.entry is not None:
            entry = plan.entry
            entry.state = 'plugged'
            self.state.record.put(entry)
            self.state.devices[entry.id] = entry.as_device()
            self.state.unfinished_plugs.pop(entry.id, None)
        self.state.record.save()

    def _note_plugging(self, plan: Plan) -> None:
        # Written before the first plug command: a run that dies half-way leaves a trace the next run acts on.
        entry = plan.plugged_entry
        entry.state = 'plugging'
        self.state.record.put(entry)
        self.state.record.save()

    # -- plug -------------------------------------------------------------

    def _add_backend(self, step: Step, plan: Plan) -> None:
        try:
            self.session.send(step.execute, step.arguments)
        except QMPCommandError as exc:
            backend_present = self.state.dialect.is_backend_present(exc.desc, step.device_id)
            if plan.resume and backend_present:
                self.session.notes.append('the backend %s an interrupted run added is used as it is' % step.device_id)
                return
            self.session.forget(step.device_id)
            self.state.record.save()
            if backend_present:
                # Not ours to remove: the record does not know it, and removing it could unplug whatever uses it.
                raise self.session.fail(
                    step,
                    exc,
                    'the VM already has a backend %s that the device record does not know '
                    '(plugged by hand, or the record was deleted): unplug it first (state=absent) or use '
                    'another id' % step.device_id,
                ) from exc
            raise self.session.fail(step, exc, 'nothing of %s was plugged' % step.device_id) from exc

    def _add_device(self, step: Step, plan: Plan) -> None:
        arguments = dict(step.arguments)
        while True:
            try:
                self.session.send(step.execute, arguments)
                break
            except QMPCommandError as exc:
                if plan.resume and self.state.dialect.is_already_plugged(exc.desc, step.device_id):
                    self.session.notes.append('%s had been plugged by an interrupted run' % step.device_id)
                    break
                entry = plan.plugged_entry
                following = self._next_place(entry.kind, arguments, exc.desc) if plan.auto_slot else None
                if following is None:
                    self._roll_back(entry.kind, step, exc)
                # A device unknown to the record (adopted, place unknown) sits there: try the next free place.
                arguments.update(following)
        entry = plan.plugged_entry
        if 'bus' in arguments:
            entry.bus = arguments['bus']
        else:
            entry.slot = int(arguments['addr'], 16)

    def _next_place(self, kind: str, arguments: dict, desc: str) -> Optional[dict]:
        others = [device for device in self.state.devices.values() if device.id != arguments['id']]
        dialect = self.state.dialect
        if dialect.machine == MACHINE_MICRO:
            slot = int(arguments['addr'], 16)
            if not dialect.is_place_taken(desc, slot):
                return None
            slots_used = {device.slot for device in others if device.kind == kind}
            limit = kind_named(kind).micro_slots
            free_slots = [candidate for candidate in range(slot + 1, limit) if candidate not in slots_used]
            return {'addr': '0x%x' % free_slots[0]} if free_slots else None
        if not dialect.is_place_taken(desc):
            return None
        used = {device.bus for device in others}
        ports = self.state.root_ports
        later = ports[ports.index(arguments['bus']) + 1 :] if arguments['bus'] in ports else []
        free = [port for port in later if port not in used]
        return {'bus': free[0]} if free else None

    def _roll_back(self, kind: str, step: Step, exc: QMPCommandError) -> NoReturn:
        micro = self.state.dialect.machine == MACHINE_MICRO
        backend_del = backend_del_step(kind, step.device_id)
        try:
            if micro:
                self.unplugger.unplug(step.device_id)
            else:
                # The device never came; only the backend this run added is removed.
                self.unplugger.delete_backend(backend_del)
            self.state.record.save()
        except DeviceApplyError as rollback_error:
            raise self.session.fail(step, exc, 'rolling back its backend failed too (%s); re-run the task to clean up' % rollback_error.message) from exc
        how = 'device_del' if micro else backend_del.execute
        raise self.session.fail(step, exc, 'its backend was removed again (rolled back with %s); nothing of %s is plugged' % (how, step.device_id)) from exc
