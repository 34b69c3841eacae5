# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner of ``stratovirt_vms_info``: the only code of that module touching Ansible.

Private to the stratovirt.qmp collection: may change in any release.
Apart from the runner of ``stratovirt_vms`` so that this read-only module never imports the converge engine.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule

from .._collection_error import CollectionError
from .._converge.session_options import check_seconds
from .._converge.thread_pool import DEFAULT_WORKERS, check_workers
from .._device.errors import FleetInputError
from .._device.vm_declaration import check_named_with_socket, name_problems
from .._report.host_vms_info import host_vms_report
from .._report.summary import info_summary

INFO_ARGS = dict(
    vms=dict(type='list', elements='dict'),
    read_undeclared=dict(type='bool', default=True),
    timeout=dict(type='float', default=10.0),
    workers=dict(type='int', default=DEFAULT_WORKERS),
)


def run_vms_info_module() -> None:
    """``main()`` of stratovirt_vms_info."""
    module = AnsibleModule(argument_spec=INFO_ARGS, supports_check_mode=True)
    params = module.params
    declared = params['vms']
    try:
        check_workers(params['workers'])
        check_seconds({'timeout': params['timeout']})
        if declared is not None:
            check_named_with_socket(declared)
            problems = name_problems(declared)
            if problems:
                raise FleetInputError(problems)
        result = host_vms_report(params['timeout'], params['workers'], declared, params['read_undeclared'])
    except CollectionError as exc:
        module.fail_json(msg=exc.message, exception=traceback.format_exc())
    result['summary'] = info_summary(result['vms'], declared)
    module.exit_json(changed=False, **result)
