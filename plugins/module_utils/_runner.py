# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that touches AnsibleModule: options in, result or ``fail_json`` out.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ._applier import Applier
from ._device_record import RecordError
from ._device_spec import AIO_CHOICES, KIND_DISK, spec_from_params
from ._errors import DeviceError, DeviceInputError
from ._info import report
from ._planner import plan_device
from ._preflight import check_host_inputs, check_not_shared
from ._qmp import qmp_session
from ._qmp_errors import QMPError
from ._stratovirt import MACHINE_MICRO, MACHINE_STANDARD, DialectError, detect
from ._vm_process import VMProcessError, command_line, machine_type, peer_pid
from ._vm_state import CurrentDevice, gather

CONNECTION_ARGS = dict(
    socket=dict(type='path', required=True, fallback=(env_fallback, ['STRATOVIRT_QMP_SOCKET'])),
    timeout=dict(type='float', default=10.0),
    machine=dict(type='str', default='auto', choices=['auto', 'micro', 'standard']),
)
DEVICE_ARGS = dict(
    id=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    addr=dict(type='str'),
    bus=dict(type='str'),
    wait_timeout=dict(type='float', default=30.0),
    on_change=dict(type='str', default='fail', choices=['fail', 'replace']),
    allow_cold_unplug=dict(type='bool', default=False),
)
DISK_ARGS = dict(
    path=dict(type='path'),
    read_only=dict(type='bool', default=False),
    direct=dict(type='bool', default=True),
    aio=dict(type='str', choices=list(AIO_CHOICES)),
    serial=dict(type='str'),
)
NIC_ARGS = dict(
    ifname=dict(type='str'),
    mac=dict(type='str'),
    create_tap=dict(type='bool', default=False),
)
MACHINE_NAMES = {'microvm': MACHINE_MICRO, 'q35': MACHINE_STANDARD, 'virt': MACHINE_STANDARD,
                 'standard': MACHINE_STANDARD}  # the last: the simulator's --machine
HANDLED = (DeviceError, QMPError, DialectError, RecordError, VMProcessError)


def argument_spec(kind: str) -> dict:
    spec = dict(CONNECTION_ARGS)
    spec.update(DEVICE_ARGS)
    spec.update(DISK_ARGS if kind == KIND_DISK else NIC_ARGS)
    return spec


def _machine(option: str, argv, check_mode: bool):
    """The machine type: the task's, else the VM's -machine, else the blockdev-del probe (not in check mode)."""
    if option != 'auto':
        return option
    named = MACHINE_NAMES.get((machine_type(argv) or '').split(',')[0])
    if named is None and check_mode:
        raise DeviceInputError('cannot tell the machine type from the VM\'s command line, and check mode sends no probe: '
                               'set machine=micro or machine=standard')
    return named


class DeviceTask:
    """One run of ``stratovirt_disk`` or ``stratovirt_nic``."""

    def __init__(self, module: AnsibleModule, kind: str) -> None:
        self.module = module
        self.kind = kind
        self.applier = None
        self.state = None
        self.spec_id = module.params['id']
        self.result = {'changed': False, 'commands': [], 'device': None, 'stratovirt': None,
                       'diff': {'before': {}, 'after': {}}}

    def run(self) -> None:
        try:
            self._converge()
        except HANDLED as exc:
            if self.applier is not None:
                self.result['commands'] = self.applier.sent
                self.result['changed'] = self.applier.changed
                # Whatever the plan said, the device is what is left after the failure (and any rollback).
                left = self.state.devices.get(self.spec_id)
                self.result['device'] = left.view() if left is not None else None
                self.result['diff']['after'] = self.result['device'] or {}
            message = getattr(exc, 'message', None) or str(exc)
            socket_path = self.module.params['socket']
            if socket_path not in message:
                message = 'VM %s: %s' % (socket_path, message)
            self.module.fail_json(msg=message, exception=traceback.format_exc(), **self.result)
        self.module.exit_json(**self.result)

    def _converge(self) -> None:
        params = self.module.params
        socket_path = params['socket']
        spec = spec_from_params(self.kind, params)
        check_host_inputs(spec)
        with qmp_session(socket_path, params['timeout']) as client:
            pid = peer_pid(client.connection)
            argv = command_line(pid)
            dialect = detect(client, _machine(params['machine'], argv, self.module.check_mode))
            self.result['stratovirt'] = {'release': dialect.release_text, 'machine': dialect.machine, 'pid': pid}
            state = self.state = gather(socket_path, dialect, pid, argv)
            state.adopt_if_unexplained(spec)
            plan = plan_device(state, spec)
            if plan.steps:
                check_not_shared(spec, pid)
            for repair in state.repairs:
                self.module.warn(repair)
            self.result['diff'] = {'before': plan.before or {}, 'after': plan.after or {}}
            self.result['device'] = plan.after
            if self.module.check_mode:
                self.result.update(changed=bool(plan.steps), commands=plan.commands)
                return
            if not plan.steps:
                if state.repairs:
                    state.record.save()
                return
            self.applier = Applier(client, state, socket_path, params['wait_timeout'])
            self.applier.apply(plan)
            for note in self.applier.notes:
                self.module.warn(note)
            if plan.entry is not None:
                # The applier may have moved an automatically chosen slot past a device unknown to the record.
                self.result['device'] = _entry_view(plan.entry)
                self.result['diff']['after'] = self.result['device']
            self.result.update(changed=self.applier.changed, commands=self.applier.sent)


def _entry_view(entry) -> dict:
    return CurrentDevice(entry.id, entry.kind, entry.slot, path=entry.path, ifname=entry.ifname, options=entry.options,
                         bus=entry.bus).view()


def run_device_module(kind: str) -> None:
    """``main()`` of stratovirt_disk and stratovirt_nic."""
    required = [('state', 'present', ['path' if kind == KIND_DISK else 'ifname'])]
    module = AnsibleModule(argument_spec=argument_spec(kind), supports_check_mode=True, required_if=required)
    DeviceTask(module, kind).run()


INFO_ARGS = dict(CONNECTION_ARGS)


class InfoTask:
    """One run of ``stratovirt_info``: read-only, whatever check mode says."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module

    def run(self) -> None:
        params = self.module.params
        socket_path = params['socket']
        try:
            with qmp_session(socket_path, params['timeout']) as client:
                pid = peer_pid(client.connection)
                argv = command_line(pid)
                machine = params['machine'] if params['machine'] != 'auto' else \
                    MACHINE_NAMES.get((machine_type(argv) or '').split(',')[0])
                if machine is None:
                    raise DeviceInputError('cannot tell the machine type from the VM\'s command line, and this module '
                                           'sends nothing that could change the VM: set machine=micro or machine=standard')
                dialect = detect(client, machine)
                status = client.execute('query-status')
                state = gather(socket_path, dialect, pid, argv)
        except HANDLED as exc:
            message = getattr(exc, 'message', None) or str(exc)
            if socket_path not in message:
                message = 'VM %s: %s' % (socket_path, message)
            self.module.fail_json(msg=message, exception=traceback.format_exc())
        result = report(state, argv, status)
        result['stratovirt'] = {'release': dialect.release_text, 'machine': dialect.machine, 'pid': pid}
        self.module.exit_json(changed=False, **result)


def run_info_module() -> None:
    """``main()`` of stratovirt_info."""
    module = AnsibleModule(argument_spec=INFO_ARGS, supports_check_mode=True)
    InfoTask(module).run()
