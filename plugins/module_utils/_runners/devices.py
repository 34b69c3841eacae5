# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner of stratovirt_disk, stratovirt_nic and stratovirt_devices: argument specs in, ``exit_json`` or one ``fail_json`` out.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

import traceback
from typing import Tuple

from ansible.module_utils.basic import AnsibleModule

from .._converge.vm import Converge
from .._collection_error import CollectionError
from .._device.kinds.registry import all_kinds, kind_named
from .argument_specs import MISSING_SOCKET, device_options, argument_spec, devices_argument_spec

# Re-exported: the tests take the session checks from the runner.
from .._converge.session_options import failure_message, lock_timeout  # noqa: F401 pylint: disable=unused-import


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
    single = [name for name in device_options(kind) if name != 'id']
    module = AnsibleModule(
        argument_spec=argument_spec(kind),
        supports_check_mode=True,
        mutually_exclusive=[(list_option, name) for name in ['id'] + single],
        required_one_of=[('id', list_option)],
    )
    DeviceTask(module, (kind,)).run()


def run_devices_module() -> None:
    """``main()`` of stratovirt_devices: the disks and the NICs of a VM in one call."""
    module = AnsibleModule(argument_spec=devices_argument_spec(), supports_check_mode=True)
    DeviceTask(module, tuple(kind.name for kind in all_kinds())).run()
