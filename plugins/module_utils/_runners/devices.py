# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that touches AnsibleModule: argument specs in, ``exit_json`` or one ``fail_json`` out.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

import traceback
from typing import Tuple

from ansible.module_utils.basic import AnsibleModule, env_fallback

from .._converge.vm import Converge
from .._collection_error import CollectionError
from .._device.kinds.registry import all_kinds, kind_named

# Re-exported: the info runner and the tests take the session checks from the runner.
from .._converge.session_options import failure_message, lock_timeout  # noqa: F401 pylint: disable=unused-import

CONNECTION_ARGS = dict(
    # Not required=True: Ansible's own message would not say how to set it once for a play (MISSING_SOCKET).
    socket=dict(type='path', fallback=(env_fallback, ['STRATOVIRT_QMP_SOCKET'])),
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


MISSING_SOCKET = (
    'socket (the VM\'s QMP Unix socket) is required: set it in the task, or once for a play with module_defaults: '
    '{group/stratovirt.qmp.stratovirt: {socket: PATH}}, or in the environment variable STRATOVIRT_QMP_SOCKET'
)


class DeviceTask:
    """The Ansible adapter of one converge run (see ``_converge.vm.Converge``)."""

    def __init__(self, module: AnsibleModule, kinds: Tuple[str, ...]) -> None:
        if not module.params['socket']:
            module.fail_json(msg=MISSING_SOCKET)
        self.module = module
        self.converge = Converge(module.params, kinds, module.check_mode)

    def run(self) -> None:
        try:
            result = self.converge.run()
        except CollectionError as exc:
            self._warn()
            self.module.fail_json(msg=failure_message(exc, self.module.params['socket']), exception=traceback.format_exc(), **self.converge.result)
        self._warn()
        self.module.exit_json(**result)

    def _warn(self) -> None:
        for text in self.converge.warnings:
            self.module.warn(text)


def run_device_module(kind: str) -> None:
    """``main()`` of stratovirt_disk and stratovirt_nic."""
    list_option = kind_named(kind).list_option
    single = [name for name in _device_options(kind) if name != 'id']
    module = AnsibleModule(
        argument_spec=argument_spec(kind),
        supports_check_mode=True,
        mutually_exclusive=[(list_option, name) for name in ['id'] + single],
        required_one_of=[('id', list_option)],
    )
    DeviceTask(module, (kind,)).run()


def devices_argument_spec() -> dict:
    """The options of stratovirt_devices: the session and the list of every kind (also each VM of stratovirt_vms)."""
    spec = dict(CONNECTION_ARGS)
    spec.update(SESSION_ARGS)
    for kind in all_kinds():
        spec[kind.list_option] = _list_option(kind.name)
    return spec


def run_devices_module() -> None:
    """``main()`` of stratovirt_devices: the disks and the NICs of a VM in one call."""
    module = AnsibleModule(argument_spec=devices_argument_spec(), supports_check_mode=True)
    DeviceTask(module, tuple(kind.name for kind in all_kinds())).run()
