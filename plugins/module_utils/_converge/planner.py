# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declared device vs current devices -> the ordered QMP commands that make the VM match (micro VM).

Private to the stratovirt.qmp collection: may change in any release.
Pure: no I/O. Everything refused here is refused before any command is sent.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence

from .._device.model import SOURCE_COLD, Device
from .._device.record import DeviceEntry
from .._device.spec import DeviceSpec
from .._device.errors import DeviceInputError
from .._device.kinds.base import compare as _compare
from .._device.kinds.registry import kind_named, view_of
from .._dialect.dialect import MACHINE_MICRO, MICRO_BACKENDS
from .._device.steps import PURPOSE_UNPLUG, Step
from .._device.state import VMState


class Plan(NamedTuple):
    steps: List[Step]
    before: Optional[dict]
    after: Optional[dict]
    entry: Optional[DeviceEntry] = None  # the record entry once the plan is applied
    auto_slot: bool = False  # the slot or bus was chosen here, not given by the task
    resume: bool = False  # a standard VM plug an earlier run left half-done is finished
    device_id: str = ''

    @property
    def plugged_entry(self) -> DeviceEntry:
        """The record entry of the device a plug plan plugs (a plan that plugs nothing has no step that asks)."""
        if self.entry is None:
            raise ValueError('plan of %s plugs nothing' % self.device_id)
        return self.entry

    @property
    def commands(self) -> List[dict]:
        return [step.command for step in self.steps]

    @property
    def conditions(self) -> List[Optional[str]]:
        return [step.when for step in self.steps]


def _label(spec_or_device) -> str:
    return kind_named(spec_or_device.kind).describe(spec_or_device.id)


def differences(current: Device, declared: Device) -> List[str]:
    """What differs between a present device and the declared one, field by field; unknown fields are not guessed."""
    found: List[str] = []
    _compare(found, 'addr', None if current.slot is None else '0x%x' % current.slot, None if declared.slot is None else '0x%x' % declared.slot)
    _compare(found, 'bus', current.bus, declared.bus)
    kind_named(declared.kind).differences(current, declared, found)
    return found


def plan_device(state: VMState, spec: DeviceSpec) -> Plan:
    """:raises DeviceInputError: the task cannot be met safely; nothing must be sent."""
    current = state.devices.get(spec.id)
    before = view_of(current) if current else None
    if current is not None and current.kind != spec.kind:
        raise DeviceInputError(
            'id %s is already used by %s; disks and NICs of a VM share one id space (a disk backend '
            'plugged as a NIC, or the reverse, kills StratoVirt): choose another id' % (spec.id, _label(current))
        )
    micro = state.dialect.machine == MACHINE_MICRO
    # A micro VM plug an earlier run left half-done is undone first; a standard VM one is resumed (see the applier).
    cleanup = micro_unplug_steps(state, state.unfinished_plugs[spec.id].kind, spec.id) if micro and spec.id in state.unfinished_plugs else []
    if spec.state == 'absent':
        if current is None:
            return Plan(cleanup + _unfinished_plug_backend_steps(state, spec), None, None, device_id=spec.id)
        _check_may_unplug(current, spec, 'unplug it')
        return Plan(unplug_steps(state, current), before, None, device_id=spec.id)
    unplug = []
    if current is not None:
        found = differences(current, spec.declared())
        if not found and not current.pending:
            kind_named(spec.kind).check_kept(state.dialect, current)
            return Plan([], before, before, device_id=spec.id)
        if found and spec.on_change != 'replace':
            raise DeviceInputError(
                '%s is plugged but differs from the task (%s); hot-plugged devices cannot be changed in '
                'place: set on_change=replace to unplug and plug it again (disruptive to the guest), '
                'or change the task' % (_label(spec), '; '.join(found))
            )
        _check_may_unplug(current, spec, 'replace it')
        unplug = unplug_steps(state, current)
    plug, entry, auto = _plug_steps(state, spec, replacing=current)
    after = view_of(entry.as_device())
    return Plan(cleanup + unplug + plug, before, after, entry, auto, resume=spec.id in state.unfinished_plugs and not micro, device_id=spec.id)


def plan_all(state: VMState, specs: List[DeviceSpec], exclusive_kinds: Sequence[str] = ()) -> List[Plan]:
    """Plan several devices of one VM in order, each against the VM as the earlier plans leave it.

    With ``exclusive_kinds``, devices of those kinds this collection plugged (not cold-plugged ones) that ``specs``
    do not declare are unplugged first, so that their slots or root ports are free for the declared ones.

    :raises DeviceInputError: any one device cannot be planned; then nothing at all must be sent.
    """
    projected = state.projection()
    plans = []
    if exclusive_kinds:
        declared = {spec.id for spec in specs}
        for device in list(projected.devices.values()):
            if device.kind in exclusive_kinds and device.source != SOURCE_COLD and device.id not in declared:
                plans.append(Plan(unplug_steps(projected, device), view_of(device), None, device_id=device.id))
                del projected.devices[device.id]
    for spec in specs:
        plan = plan_device(projected, spec)
        plans.append(plan)
        projected.unfinished_plugs.pop(spec.id, None)
        if plan.entry is not None:
            projected.devices[spec.id] = plan.entry.as_device()
        elif plan.after is None:
            projected.devices.pop(spec.id, None)
    return plans


def unplug_steps(state: VMState, device: Device) -> List[Step]:
    """``device_del``; on a standard VM, once the guest let the device go, its backend goes too."""
    if state.dialect.machine == MACHINE_MICRO:
        return micro_unplug_steps(state, device.kind, device.id)
    return [Step('device_del', {'id': device.id}, PURPOSE_UNPLUG, device.id), backend_del_step(device.kind, device.id)]


def micro_unplug_steps(state: VMState, kind: str, device_id: str) -> List[Step]:
    """``device_del``, and what the kind sends after it on this release (the NIC unplug defect's second one)."""
    return [Step('device_del', {'id': device_id}, PURPOSE_UNPLUG, device_id)] + kind_named(kind).micro_unplug_follow_ups(state.dialect, device_id)


def backend_del_step(kind: str, device_id: str) -> Step:
    """``blockdev-del`` / ``netdev_del`` of a standard VM device's backend."""
    return kind_named(kind).backend_del_step(device_id)


def _unfinished_plug_backend_steps(state: VMState, spec: DeviceSpec) -> List[Step]:
    if state.dialect.machine == MACHINE_MICRO or spec.id not in state.unfinished_plugs:
        return []
    return [Step('device_del', {'id': spec.id}, PURPOSE_UNPLUG, spec.id), backend_del_step(spec.kind, spec.id)]


def _check_may_unplug(current: Device, spec: DeviceSpec, action: str) -> None:
    if current.source == SOURCE_COLD and not spec.allow_cold_unplug:
        raise DeviceInputError(
            '%s is cold-plugged on the VM\'s command line; the collection never unplugs such a device '
            'unless the task sets allow_cold_unplug=true to %s' % (_label(spec), action)
        )


def _plug_steps(state: VMState, spec: DeviceSpec, replacing: Optional[Device]):
    dialect = state.dialect
    others = {device_id: device for device_id, device in state.devices.items() if device_id != spec.id}
    if replacing is not None:
        # A replaced device keeps its place unless the task moves it.
        spec = spec._replace(slot=spec.slot if spec.slot is not None else replacing.slot, bus=spec.bus if spec.bus is not None else replacing.bus)
    if dialect.machine == MACHINE_MICRO:
        _check_backend_room(state, spec, others)
        slot, auto = _choose_slot(spec, others)
        bus = None
    else:
        bus, auto = _choose_bus(state, spec, others)
        slot = None
    kind = kind_named(spec.kind)
    kind.check_plug(state, spec, others)
    steps, device = kind.plug(dialect, spec, slot, bus)
    return steps, DeviceEntry.from_device(device, addr=None if bus is None else '0x0'), auto


def _check_backend_room(state: VMState, spec: DeviceSpec, others) -> None:
    unfinished = [device_id for device_id in state.unfinished_plugs if device_id != spec.id]
    if len(others) + len(state.retained_by_unplugged) + len(unfinished) >= MICRO_BACKENDS:
        raise DeviceInputError(
            'cannot plug %s: the VM already has %d backends registered, the most a micro VM takes (%s)'
            % (_label(spec), MICRO_BACKENDS, ', '.join(sorted(others)))
        )


def _choose_slot(spec: DeviceSpec, others) -> tuple:
    if spec.bus is not None:
        raise DeviceInputError('%s: bus applies to standard VMs; a micro VM has fixed slots, set addr instead' % _label(spec))
    kind = kind_named(spec.kind)
    limit = kind.micro_slots
    used = {device.slot: device.id for device in others.values() if device.kind == spec.kind and device.slot is not None}
    if spec.slot is not None:
        if spec.slot >= limit:
            raise DeviceInputError(
                'addr 0x%x of %s is beyond the %d %s slots of a micro VM (0x0-0x%x)' % (spec.slot, _label(spec), limit, kind.label, limit - 1)
            )
        if spec.slot in used:
            taken_by = kind.describe(used[spec.slot])
            raise DeviceInputError('addr 0x%x of %s is taken by %s' % (spec.slot, _label(spec), taken_by))
        return spec.slot, False
    for slot in range(limit):
        if slot not in used:
            return slot, True
    holders = ', '.join(used[slot] for slot in sorted(used))
    raise DeviceInputError('no free %s slot for %s: all %d are taken (%s)' % (kind.label, _label(spec), limit, holders))


def _choose_bus(state: VMState, spec: DeviceSpec, others) -> tuple:
    """A standard VM hot-plugs only into a pcie-root-port, at addr 0x0 (StratoVirt 2.1.0 plugs elsewhere, then
    leaves a zombie on pcie.0 or deadlocks its monitor on the unplug of a device at another addr)."""
    if spec.slot not in (None, 0):
        raise DeviceInputError(
            'addr 0x%x of %s: on a standard VM a device is hot-plugged at addr 0x0 of a pcie-root-port '
            'only; leave addr unset or "0x0"' % (spec.slot, _label(spec))
        )
    used = {device.bus: device.id for device in others.values() if device.bus is not None}
    ports = ', '.join(state.root_ports) or 'none'
    if spec.bus is not None:
        if spec.bus not in state.root_ports:
            raise DeviceInputError(
                'bus %s of %s is not a pcie-root-port of this VM (its root ports: %s); StratoVirt '
                'hot-plugs only into a root port' % (spec.bus, _label(spec), ports)
            )
        if spec.bus in used:
            raise DeviceInputError('bus %s of %s is taken by %s' % (spec.bus, _label(spec), used[spec.bus]))
        return spec.bus, False
    for port in state.root_ports:
        if port not in used:
            return port, True
    raise DeviceInputError(
        'no free pcie-root-port for %s (root ports: %s); add root ports to the VM\'s command line '
        '(-device pcie-root-port,...) or unplug a device' % (_label(spec), ports)
    )
