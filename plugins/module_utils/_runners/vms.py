# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner of ``stratovirt_vms``: the only code of that module touching Ansible.

Private to the stratovirt.qmp collection: may change in any release.

Each item of ``vms`` takes the options of ``stratovirt_devices`` plus ``name``. They are checked here with the very
argument spec of ``stratovirt_devices`` (types, choices, defaults, required, unknown keys), one item at a time, so
that a VM of ``stratovirt_vms`` means what one ``stratovirt_devices`` task means, and a device option added to a
kind reaches both modules at once.
"""

from __future__ import annotations

import copy
import traceback
from typing import Dict, List, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from .._collection_error import CollectionError
from .._converge.host_vms import Fleet, FleetInputError
from .._converge.thread_pool import DEFAULT_WORKERS
from .._device.kinds.registry import all_kinds
from .._device.vm_declaration import vm_label
from .._report.summary import converge_summary
from .argument_specs import devices_argument_spec

VMS_ARGS = dict(
    vms=dict(type='list', elements='dict', required=True),
    workers=dict(type='int', default=DEFAULT_WORKERS),
)


def vm_argument_spec() -> dict:
    """One item of ``vms``: a VM's ``name`` and the options of stratovirt_devices (no environment fallback: the
    socket of a VM is always said)."""
    spec = copy.deepcopy(devices_argument_spec())
    spec['socket'].pop('fallback', None)
    spec['socket']['required'] = True
    spec['name'] = dict(type='str', required=True)
    return spec


def validated_vms(items: List[dict]) -> Tuple[List[dict], Dict[str, str]]:
    """Each item checked and completed with the defaults, and the problems found, by VM name (or ``vms[N]``)."""
    validator = ArgumentSpecValidator(vm_argument_spec())
    checked: List[dict] = []
    problems: Dict[str, str] = {}
    for number, item in enumerate(items):
        label = vm_label(item, number)
        result = validator.validate(item)
        if result.error_messages:
            problems[label] = '; '.join(result.error_messages)
            checked.append(dict(item, name=label))
        else:
            checked.append(result.validated_parameters)
    return checked, problems


class FleetTask:
    """The Ansible adapter of one fleet run (see ``_converge.host_vms.Fleet``)."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module

    def run(self) -> None:
        module = self.module
        vms, problems = validated_vms(module.params['vms'])
        fleet = Fleet(vms, tuple(kind.name for kind in all_kinds()), module.check_mode, module.params['workers'])
        try:
            if problems:
                raise FleetInputError(problems)
            result = fleet.run()
        except FleetInputError as exc:
            result = dict(fleet.refused(exc), msg=exc.message)
        except CollectionError as exc:
            result = dict(fleet.refused(FleetInputError({})), msg=exc.message, exception=traceback.format_exc())
        for text in fleet.warnings():
            module.warn(text)
        result['summary'] = converge_summary(result['vms'], module.check_mode)
        if 'msg' in result:
            module.fail_json(**result)
        module.exit_json(**result)


def run_vms_module() -> None:
    """``main()`` of stratovirt_vms."""
    module = AnsibleModule(argument_spec=VMS_ARGS, supports_check_mode=True)
    FleetTask(module).run()
