# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that touches AnsibleModule: options in, result or ``fail_json`` out.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

import math
import os
import traceback
from typing import List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ._device_spec import DeviceSpec, check_no_control_characters
from ._error_root import CollectionError
from ._errors import DeviceInputError
from ._kinds import all_kinds, kind_named, spec_from_params, view_of
from ._planner import Plan, plan_all
from ._preflight import check_host_inputs, check_not_shared
from ._qmp import qmp_session
from ._stratovirt import MACHINE_MICRO, MACHINE_STANDARD, detect
from ._vm_process import command_line, machine_type, peer_pid
from ._vm_state import gather

CONNECTION_ARGS = dict(
    socket=dict(type='path', required=True, fallback=(env_fallback, ['STRATOVIRT_QMP_SOCKET'])),
    timeout=dict(type='float', default=10.0),
    machine=dict(type='str', default='auto', choices=['auto', 'micro', 'standard']),
)
DEVICE_ARGS = dict(
    id=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    addr=dict(type='str'),
    bus=dict(type='str'),
    on_change=dict(type='str', default='fail', choices=['fail', 'replace']),
    allow_cold_unplug=dict(type='bool', default=False),
)
SESSION_ARGS = dict(
    wait_timeout=dict(type='float', default=30.0),
    exclusive=dict(type='bool', default=False),
)
MACHINE_NAMES = {'microvm': MACHINE_MICRO, 'q35': MACHINE_STANDARD, 'virt': MACHINE_STANDARD,
                 'standard': MACHINE_STANDARD}  # the last: the simulator's --machine
# Replies a peer's session waits for around its guest-acknowledged unplug: greeting, version, probe, device_del, backend.
LOCK_REPLIES = 5
MAX_SECONDS = 86400  # a day: more is a typo, and far more overflows the clock


def _device_options(kind: str) -> dict:
    options = dict(DEVICE_ARGS)
    options.update(kind_named(kind).options)
    return options


def argument_spec(kind: str) -> dict:
    """The single-device options at the top, the same options as the items of ``disks``/``nics``."""
    spec = dict(CONNECTION_ARGS)
    spec.update(SESSION_ARGS)
    spec.update(_device_options(kind))
    spec[kind_named(kind).list_option] = _list_option(kind)
    return spec


def _list_option(kind: str) -> dict:
    items = _device_options(kind)
    items['id'] = dict(type='str', required=True)
    return dict(type='list', elements='dict', options=items)


def failure_message(exc: CollectionError, socket_path: str) -> str:
    """The ``msg`` of a failed task: what went wrong, naming the VM's socket once."""
    return exc.message if exc.names_vm else 'VM %s: %s' % (socket_path, exc.message)


def resolve_machine(option: str, argv, check_mode: bool, action: str = 'check mode sends no probe'):
    """The machine type: the VM's -machine; the task's ``machine`` must not contradict it; else the task's, else
    None (the blockdev-del probe decides, not in check mode).

    :raises DeviceInputError: ``machine`` contradicts the VM's command line, or nothing tells and no probe may be sent.
    """
    written = (machine_type(argv) or '').split(',')[0]
    named = MACHINE_NAMES.get(written)
    if option != 'auto':
        if named is not None and named != option:
            raise DeviceInputError('machine=%s contradicts the VM: its command line says -machine %s, a %s VM; leave '
                                   'machine unset (auto) or set machine=%s' % (option, written, named, named))
        return option
    if named is None and check_mode:
        raise DeviceInputError('cannot tell the machine type from the VM\'s command line, and %s: '
                               'set machine=micro or machine=standard' % action)
    return named


def check_session_options(params: dict) -> None:
    """The connection options, checked before the lock file is created and before anything is sent.

    :raises DeviceInputError: naming the option at fault.
    """
    socket_path = params['socket']
    check_no_control_characters(params, ('socket',), 'VM %r' % socket_path, names_vm=True)
    if not os.path.isabs(socket_path):
        raise DeviceInputError('socket %r must be an absolute path (a relative one would be read from the module\'s '
                               'temporary directory, not from the playbook\'s)' % socket_path, names_vm=True)
    for name, low, zero_ok in (('timeout', 0.0, False), ('wait_timeout', 0.0, True)):
        value = params.get(name)
        if value is None:
            continue
        if not math.isfinite(value) or value < low or (value == low and not zero_ok) or value > MAX_SECONDS:
            raise DeviceInputError('%s is %r: it must be a number of seconds %s %s and at most %d'
                                   % (name, value, 'from' if zero_ok else 'above', low, MAX_SECONDS))


def lock_timeout(params: dict) -> float:
    """How long to wait for the per-VM lock: a peer's session may hold it through a guest-acknowledged unplug
    (``wait_timeout``) and the replies around it, far longer than one reply (``timeout``)."""
    return (params.get('wait_timeout') or 0.0) + LOCK_REPLIES * params['timeout']


class DeviceTask:
    """One run of ``stratovirt_disk`` or ``stratovirt_nic``, for one device or a list of them (one session)."""

    def __init__(self, module: AnsibleModule, kinds: Tuple[str, ...]) -> None:
        self.module = module
        self.kinds = kinds
        self.list_options = [kind_named(kind).list_option for kind in kinds]
        self.listed = len(kinds) > 1 or module.params.get(self.list_options[0]) is not None
        self.applier = None
        self.state = None
        self.plans: List[Plan] = []
        self.done = 0
        self.result = {'changed': False, 'commands': [], 'stratovirt': None, 'diff': {'before': {}, 'after': {}}}
        if not self.listed:
            self.result['device'] = None

    def run(self) -> None:
        try:
            self._converge()
        except CollectionError as exc:
            self._report(failed=True)
            self.module.fail_json(msg=failure_message(exc, self.module.params['socket']), exception=traceback.format_exc(),
                                  **self.result)
        self._report(failed=False)
        self.module.exit_json(**self.result)

    def _specs(self) -> List[DeviceSpec]:
        params = self.module.params
        if not self.listed:
            return [spec_from_params(self.kinds[0], params)]
        specs = [spec_from_params(kind, item) for kind in self.kinds for item in params.get(kind_named(kind).list_option) or []]
        seen = set()
        for spec in specs:
            if spec.id in seen:
                raise DeviceInputError('%s %s id %s twice (disks and NICs of a VM share one id space)'
                                       % (' and '.join(self.list_options), 'declare' if len(self.kinds) > 1 else 'declares',
                                          spec.id))
            seen.add(spec.id)
        return specs

    def _converge(self) -> None:
        params = self.module.params
        socket_path = params['socket']
        check_session_options(params)
        specs = self._specs()
        for spec in specs:
            check_host_inputs(spec)
        if params['exclusive'] and not self.listed:
            raise DeviceInputError('exclusive applies to the list form (%s) only' % self.list_options[0])
        with qmp_session(socket_path, params['timeout'], lock_timeout(params)) as client:
            pid = peer_pid(client.connection)
            argv = command_line(pid)
            dialect = detect(client, resolve_machine(params['machine'], argv, self.module.check_mode))
            self.result['stratovirt'] = {'release': dialect.release_text, 'machine': dialect.machine, 'pid': pid}
            if dialect.release_warning:
                self.module.warn(dialect.release_warning)
            state = self.state = gather(socket_path, dialect, pid, argv)
            for spec in specs:
                state.adopt_if_unexplained(spec)
            # Every device is planned, and so checked, before anything is sent.
            self.plans = plan_all(state, specs, self.kinds if params['exclusive'] else ())
            check_not_shared([spec for spec, plan in zip(specs, self.plans[-len(specs):]) if plan.steps], pid)
            for repair in state.repairs:
                self.module.warn(repair)
            if self.module.check_mode:
                return
            if not any(plan.steps for plan in self.plans):
                if state.repairs:
                    state.record.save()
                return
            # Imported here: a run with nothing to change, the common case on a fleet, does without it.
            from ._applier import Applier  # pylint: disable=import-outside-toplevel
            self.applier = Applier(client, state, params['wait_timeout'])
            for plan in self.plans:
                self.applier.apply(plan)
                self.done += 1
            for note in self.applier.notes:
                self.module.warn(note)

    def _report(self, failed: bool) -> None:
        """Fill the result from the plans: what was sent (or would be, in check mode) and where each device is."""
        checking = self.module.check_mode
        devices = []
        for index, plan in enumerate(self.plans):
            applied = checking or index < self.done
            if applied or (failed and index == self.done):
                after = plan.after if checking else self._now(plan)
            else:
                after = plan.before
            devices.append({'id': plan.device_id, 'changed': bool(plan.steps) and (checking or index < self.done),
                            'commands': plan.commands if checking else [], 'device': after, 'before': plan.before})
        if self.applier is not None:
            self.result.update(changed=self.applier.changed, commands=self.applier.sent)
            self._split_commands(devices)
        elif checking:
            self.result.update(changed=any(plan.steps for plan in self.plans),
                               commands=[command for plan in self.plans for command in plan.commands])
        if checking:
            self.result['when'] = [condition for plan in self.plans for condition in plan.conditions]
        if self.listed:
            self.result['devices'] = [{key: value for key, value in device.items() if key != 'before'} for device in devices]
            self.result['diff'] = {'before': {device['id']: device['before'] for device in devices if device['before']},
                                   'after': {device['id']: device['device'] for device in devices if device['device']}}
        elif devices:
            self.result['device'] = devices[0]['device']
            self.result['diff'] = {'before': devices[0]['before'] or {}, 'after': devices[0]['device'] or {}}

    def _now(self, plan: Plan) -> Optional[dict]:
        device = self.state.devices.get(plan.device_id) if self.state is not None else None
        return view_of(device) if device is not None else None

    def _split_commands(self, devices: List[dict]) -> None:
        by_id = {}
        for command in self.applier.sent:
            arguments = command.get('arguments') or {}
            by_id.setdefault(arguments.get('id') or arguments.get('node-name'), []).append(command)
        for device in devices:
            device['commands'] = by_id.get(device['id'], [])
            device['changed'] = device['changed'] or bool(device['commands'])


def run_device_module(kind: str) -> None:
    """``main()`` of stratovirt_disk and stratovirt_nic."""
    list_option = kind_named(kind).list_option
    single = [name for name in _device_options(kind) if name != 'id']
    module = AnsibleModule(argument_spec=argument_spec(kind), supports_check_mode=True,
                           mutually_exclusive=[(list_option, name) for name in ['id'] + single],
                           required_one_of=[('id', list_option)])
    DeviceTask(module, (kind,)).run()


def run_devices_module() -> None:
    """``main()`` of stratovirt_devices: the disks and the NICs of a VM in one call."""
    spec = dict(CONNECTION_ARGS)
    spec.update(SESSION_ARGS)
    names = tuple(kind.name for kind in all_kinds())
    for name in names:
        spec[kind_named(name).list_option] = _list_option(name)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    DeviceTask(module, names).run()
