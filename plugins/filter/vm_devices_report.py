# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: vm_devices_report
short_description: One report entry per VM from a stratovirt_vms result or a looped stratovirt_devices result
version_added: 0.1.0
author:
  - stratovirt.qmp contributors (@stratovirt-qmp)
description:
  - Turns the registered result of a M(stratovirt.qmp.stratovirt_vms) task (its C(vms) list, one entry per VM), or of
    a M(stratovirt.qmp.stratovirt_devices) task looped over VMs (the loop variable holding each VM, with its C(name)
    and C(socket)), into one entry per declared VM, in the order declared.
  - This is the C(vm_devices_report) fact of the role C(stratovirt.qmp.vm_devices).
  - A VM with no loop result (not attempted) gets an entry that is neither changed nor failed, unless the task
    failed as a whole (a failed result with neither C(vms) nor C(results)), in which case every VM is failed with the
    task's message.
options:
  _input:
    description:
      - The registered result of the M(stratovirt.qmp.stratovirt_vms) task (its C(vms) list is read) or of the looped
        task (its C(results) list), or the C(ansible_failed_result) of a C(rescue) after it.
    type: dict
    required: true
  vms:
    description: The VMs the task converged (looped over), each with at least C(name) and C(socket).
    type: list
    elements: dict
    required: true
  loop_var:
    description: The C(loop_var) of a looped task; each loop result carries the VM under this key.
    type: str
    default: vm_devices_vm
'''

EXAMPLES = r'''
- name: Converge the devices of every VM of the host
  stratovirt.qmp.stratovirt_vms:
    vms: "{{ vms }}"
  register: converged

- name: One entry per VM
  ansible.builtin.set_fact:
    report: "{{ converged | stratovirt.qmp.vm_devices_report(vms) }}"

- name: Converge the devices of every VM
  stratovirt.qmp.stratovirt_devices:
    socket: "{{ vm.socket }}"
    disks: "{{ vm.disks | default(omit) }}"
  loop: "{{ vms }}"
  loop_control:
    loop_var: vm
  register: converged

- name: One entry per VM
  ansible.builtin.set_fact:
    report: "{{ converged | stratovirt.qmp.vm_devices_report(vms, loop_var='vm') }}"
'''

RETURN = r'''
_value:
  description: One entry per VM of O(vms), in that order.
  type: list
  elements: dict
  contains:
    name:
      description: The VM's C(name).
      type: str
    socket:
      description: The VM's C(socket).
      type: str
    changed:
      description: Whether the VM was changed (would be, in check mode).
      type: bool
    plugged:
      description: The ids sent a C(device_add), each once, in the order sent.
      type: list
      elements: str
    unplugged:
      description: The ids sent a C(device_del), each once, in the order sent.
      type: list
      elements: str
    pending:
      description: Standard VM, the ids whose unplug the guest has not acknowledged yet (the next run finishes it).
      type: list
      elements: str
    commands:
      description: How many QMP commands were sent (would be sent, in check mode).
      type: int
    failed:
      description: Whether the VM failed.
      type: bool
    msg:
      description: The failure message (C(failed without a message) when it has none), empty when not failed.
      type: str
'''

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

NO_MESSAGE = 'failed without a message'


def _ids_of(commands, execute):
    ids = []
    for command in commands:
        if isinstance(command, Mapping) and command.get('execute') == execute:
            device_id = (command.get('arguments') or {}).get('id')
            if device_id is not None and device_id not in ids:
                ids.append(device_id)
    return ids


def _pending_of(results):
    ids = []
    for item in results:
        for device in item.get('devices') or []:
            shown = device.get('device') if isinstance(device, Mapping) else None
            if isinstance(shown, Mapping) and shown.get('unplug_pending') and device.get('id') not in ids:
                ids.append(device.get('id'))
    return ids


def vm_devices_report(result, vms, loop_var='vm_devices_vm'):
    """``result`` (a looped task's registered result) -> one report entry per VM of ``vms``."""
    if not isinstance(result, Mapping):
        raise AnsibleFilterError('vm_devices_report: expected the registered result of a looped task, got %s' % type(result).__name__)
    if not isinstance(vms, Sequence) or isinstance(vms, (str, bytes)):
        raise AnsibleFilterError('vm_devices_report: vms must be a list, got %s' % type(vms).__name__)
    per_vm = result.get('vms')
    fleet = isinstance(per_vm, Sequence) and not isinstance(per_vm, (str, bytes))
    # stratovirt_vms: one entry per VM, carrying its name; a looped task: one result per VM, carrying the loop variable.
    listed = per_vm if fleet and per_vm is not None else result.get('results') or []
    results = [item for item in listed if isinstance(item, Mapping)]

    def owned(item, name):
        if fleet:
            return item.get('name') == name
        return isinstance(item.get(loop_var), Mapping) and item[loop_var].get('name') == name

    # A task that failed as a whole (a templating error, say) has no per-VM results: no VM was converged.
    failed_whole = bool(result.get('failed')) and 'results' not in result and 'vms' not in result
    report = []
    for vm in vms:
        mine = [item for item in results if owned(item, vm['name'])]
        commands = [command for item in mine for command in item.get('commands') or []]
        failures = [item for item in mine if item.get('failed')] or ([result] if failed_whole else [])
        report.append(
            {
                'name': vm['name'],
                'socket': vm.get('socket'),
                'changed': any(item.get('changed') for item in mine),
                'plugged': _ids_of(commands, 'device_add'),
                'unplugged': _ids_of(commands, 'device_del'),
                'pending': _pending_of(mine),
                'commands': len(commands),
                'failed': bool(failures),
                'msg': '; '.join(NO_MESSAGE if item.get('msg') is None else str(item['msg']) for item in failures),
            }
        )
    return report


class FilterModule:
    """The report filter of the vm_devices role."""

    def filters(self):
        return {'vm_devices_report': vm_devices_report}
