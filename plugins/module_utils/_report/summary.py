# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``summary`` of ``stratovirt_vms_info`` and ``stratovirt_vms``: one line per VM, built from the result entries.

Private to the stratovirt.qmp collection: may change in any release.

Only reads the entries the modules already return, so it changes nothing they report. The columns are padded to a
common width so that the lines printed one under the other (the role, the playbook ``stratovirt.qmp.status``) read as
a table.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from .._host.vms import socket_key
from .._device.kinds.registry import all_kinds

NONE = '-'


def _aligned(rows: List[List[str]]) -> List[str]:
    """Each column as wide as its widest cell; a row may have more columns (a message) than others."""
    widths: List[int] = []
    for row in rows:
        for column, cell in enumerate(row):
            if column == len(widths):
                widths.append(0)
            widths[column] = max(widths[column], len(cell))
    return ['  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def _device(view: Dict[str, Any]) -> str:
    """``data0=vdb@0x1``: the id, the guest's name where the host can tell it, and where it sits."""
    text = str(view.get('id'))
    if view.get('guest_name'):
        text += '=' + str(view['guest_name'])
    where = view.get('bus') or view.get('addr')
    if where:
        text += '@' + str(where)
    if view.get('unplug_pending'):
        text += '(unplug pending)'
    return text


def _devices(views: Optional[Iterable[Dict[str, Any]]], kind: str) -> str:
    shown = [_device(view) for view in views or [] if view.get('kind') == kind]
    return ','.join(shown) or NONE


def _free(free: Optional[Dict[str, Any]]) -> str:
    if not free:
        return NONE
    if 'root_ports' in free:
        return 'root ports ' + (','.join(free['root_ports']) or NONE)
    return 'slots ' + ' '.join('%s %s' % (kind.name, ','.join(free.get(kind.free_key) or []) or NONE) for kind in all_kinds())


def _mib(size: Any) -> str:
    return '%dM' % (size >> 20) if isinstance(size, int) else NONE


def _resources(resources: Optional[Dict[str, Any]]) -> str:
    """E.g. ``vcpus 1/4 memory 256M balloon 256M iothreads 1 cold-plugged 2``."""
    if not resources:
        return 'resources ' + NONE
    memory = resources['memory']
    return 'vcpus %d/%d memory %s balloon %s iothreads %d cold-plugged %d' % (
        resources['vcpus']['present'],
        resources['vcpus']['possible'],
        _mib(memory['size']),
        _mib(memory['balloon_actual']) if memory['balloon_actual'] is not None else NONE,
        len(resources['iothreads']),
        len(resources['cold_plugged']),
    )


def _text(value: Any) -> str:
    return NONE if value is None or value == '' else str(value)


def info_summary(vms: List[Dict[str, Any]], declared: Optional[List[dict]] = None) -> List[str]:
    """``stratovirt_vms_info``: per VM its name, pid, release, machine, status, disks, NICs, free places and, with
    ``declared`` VMs (``socket``), whether one of them is this VM.
    """
    declared_keys = {socket_key(vm['socket']) for vm in declared} if declared is not None else None
    rows = []
    for vm in vms:
        row = [
            _text(vm.get('name')),
            'pid ' + _text(vm.get('pid')),
            _text(vm.get('release')),
            _text(vm.get('machine')),
            _text(vm.get('status')),
            *('%ss %s' % (kind.name, _devices(vm.get('devices'), kind.name)) for kind in all_kinds()),
            'free ' + _free(vm.get('free')),
            _resources(vm.get('resources')),
        ]
        if declared_keys is not None:
            row.append('declared' if any(socket_key(path) in declared_keys for path in vm.get('sockets') or []) else 'not declared')
        if vm.get('msg'):
            row.append(vm['msg'])
        rows.append(row)
    return _aligned(rows)


def _ids(devices: List[Dict[str, Any]], execute: str) -> List[str]:
    return [device['id'] for device in devices if any(command.get('execute') == execute for command in device.get('commands') or [])]


def converge_summary(entries: List[Dict[str, Any]], check_mode: bool) -> List[str]:
    """``stratovirt_vms``: per VM its name, outcome, release and machine, what was plugged and unplugged, and in check
    mode the QMP commands that would be sent."""
    rows = []
    for entry in entries:
        facts = entry.get('stratovirt') or {}
        if entry.get('failed'):
            outcome = 'FAILED'
        elif not entry.get('attempted'):
            outcome = 'not attempted'
        elif entry.get('changed'):
            outcome = 'would change' if check_mode else 'changed'
        else:
            outcome = 'ok'
        devices = entry.get('devices') or []
        row = [
            _text(entry.get('name')),
            outcome,
            'pid ' + _text(facts.get('pid')),
            _text(facts.get('release')),
            _text(facts.get('machine')),
            'plug ' + (','.join(_ids(devices, 'device_add')) or NONE),
            'unplug ' + (','.join(_ids(devices, 'device_del')) or NONE),
        ]
        if check_mode and entry.get('commands'):
            row.append('would send ' + ', '.join(_command(command) for command in entry['commands']))
        if entry.get('msg'):
            row.append(entry['msg'])
        rows.append(row)
    return _aligned(rows)


def _command(command: Dict[str, Any]) -> str:
    arguments = command.get('arguments') or {}
    target = arguments.get('id') or arguments.get('node-name')
    return '%s %s' % (command.get('execute'), target) if target else str(command.get('execute'))
