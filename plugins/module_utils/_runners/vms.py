# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runners of ``stratovirt_vms`` and ``stratovirt_vms_info``: the only code of those modules touching Ansible.

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
from .._converge.host_vms import DEFAULT_WORKERS, Fleet, FleetInputError, check_workers, name_problems, vm_label
from .._report.host_vms_info import host_vms_report
from .._device.kinds.registry import all_kinds
from .argument_specs import devices_argument_spec
from .._converge.session_options import check_seconds
from .._report.summary import converge_summary, info_summary

VMS_ARGS = dict(
    vms=dict(type='list', elements='dict', required=True),
    workers=dict(type='int', default=DEFAULT_WORKERS),
)
INFO_ARGS = dict(
    vms=dict(type='list', elements='dict'),
    read_undeclared=dict(type='bool', default=True),
    timeout=dict(type='float', default=10.0),
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


def run_vms_info_module() -> None:
    """``main()`` of stratovirt_vms_info."""
    module = AnsibleModule(argument_spec=INFO_ARGS, supports_check_mode=True)
    params = module.params
    declared = params['vms']
    try:
        check_workers(params['workers'])
        check_seconds({'timeout': params['timeout']})
        if declared is not None:
            for number, vm in enumerate(declared):
                if not isinstance(vm.get('name'), str) or not isinstance(vm.get('socket'), str):
                    raise FleetInputError({'vms[%d]' % number: 'each declared VM needs a name and a socket'})
            problems = name_problems(declared)
            if problems:
                raise FleetInputError(problems)
        result = host_vms_report(params['timeout'], params['workers'], declared, params['read_undeclared'])
    except CollectionError as exc:
        module.fail_json(msg=exc.message, exception=traceback.format_exc())
    result['summary'] = info_summary(result['vms'], declared)
    module.exit_json(changed=False, **result)
