# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument specs of the modules: the session, the device options of each kind, the lists of devices.

Private to the stratovirt.qmp collection: may change in any release.
Apart from the runners so that a read-only module's runner takes its options without importing the converge engine.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from .._device.kinds.registry import all_kinds, kind_named

CONNECTION_ARGS = dict(
    # Not required=True: Ansible's own message would not say how to set it once for a play (MISSING_SOCKET).
    socket=dict(type='path', fallback=(env_fallback, ['STRATOVIRT_QMP_SOCKET'])),
    timeout=dict(type='float', default=10.0),
    machine=dict(type='str', default='auto', choices=['auto', 'micro', 'standard']),
)
MISSING_SOCKET = (
    'socket (the VM\'s QMP Unix socket) is required: set it in the task, or once for a play with module_defaults: '
    '{group/stratovirt.qmp.stratovirt: {socket: PATH}}, or in the environment variable STRATOVIRT_QMP_SOCKET'
)
DEVICE_ARGS = dict(
    id=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    addr=dict(type='str'),
    bus=dict(type='str'),
    on_change=dict(type='str', default='fail', choices=['fail', 'replace']),
    allow_cold_unplug=dict(type='bool', default=False),
)
# The VM's declared resources (stratovirt_devices, each VM of stratovirt_vms): _converge/resources.py.
RESOURCE_ARGS = dict(
    vcpus=dict(type='int'),
    balloon=dict(type='str'),
)
SESSION_ARGS = dict(
    wait_timeout=dict(type='float', default=30.0),
    exclusive=dict(type='bool', default=False),
)


def device_options(kind: str) -> dict:
    options = dict(DEVICE_ARGS)
    options.update(kind_named(kind).options)
    return options


def argument_spec(kind: str) -> dict:
    """The single-device options at the top, the same options as the items of ``disks``/``nics``."""
    spec = dict(CONNECTION_ARGS)
    spec.update(SESSION_ARGS)
    spec.update(device_options(kind))
    spec[kind_named(kind).list_option] = _list_option(kind)
    return spec


def _list_option(kind: str) -> dict:
    items = device_options(kind)
    items['id'] = dict(type='str', required=True)
    return dict(type='list', elements='dict', options=items)


def devices_argument_spec() -> dict:
    """The options of stratovirt_devices: the session and the list of every kind (also each VM of stratovirt_vms)."""
    spec = dict(CONNECTION_ARGS)
    spec.update(SESSION_ARGS)
    for kind in all_kinds():
        spec[kind.list_option] = _list_option(kind.name)
    spec.update(RESOURCE_ARGS)
    return spec
