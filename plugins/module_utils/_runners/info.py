# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner of ``stratovirt_info``: the only code of that module touching AnsibleModule.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule

from .._report.resources import read_resources
from .._report.vm_info import report
from .._qmp.client import qmp_session
from .._collection_error import CollectionError
from .argument_specs import CONNECTION_ARGS, MISSING_SOCKET, SESSION_ARGS
from .._converge.session_options import check_session_options, failure_message, lock_timeout, resolve_machine
from .._dialect.dialect import check_greeting, detect
from .._host.process import command_line, peer_pid
from .._device.state import gather


INFO_ARGS = dict(CONNECTION_ARGS)
# Taken and ignored, so that one module_defaults for group/stratovirt.qmp.stratovirt serves every module of the group.
INFO_ARGS['wait_timeout'] = SESSION_ARGS['wait_timeout']


class InfoTask:
    """One run of ``stratovirt_info``: read-only, whatever check mode says."""

    def __init__(self, module: AnsibleModule) -> None:
        if not module.params['socket']:
            module.fail_json(msg=MISSING_SOCKET)
        self.module = module

    def run(self) -> None:
        params = self.module.params
        socket_path = params['socket']
        try:
            check_session_options(params)
            with qmp_session(socket_path, params['timeout'], lock_timeout(params)) as client:
                check_greeting(client.greeting)  # a QEMU is refused before anything is sent
                pid = peer_pid(client.connection)
                argv = command_line(pid)
                machine = resolve_machine(params['machine'], argv, True, 'this module sends nothing that could change the VM')
                dialect = detect(client, machine)
                if dialect.release_warning:
                    self.module.warn(dialect.release_warning)
                status = client.execute('query-status')
                state = gather(socket_path, dialect, pid, argv)
                resources = read_resources(client, dialect, argv)
        except CollectionError as exc:
            self.module.fail_json(msg=failure_message(exc, socket_path), exception=traceback.format_exc())
        result = report(state, argv, status, resources)
        result['stratovirt'] = {'release': dialect.release_text, 'machine': dialect.machine, 'pid': pid}
        self.module.exit_json(changed=False, **result)


def run_info_module() -> None:
    """``main()`` of stratovirt_info."""
    module = AnsibleModule(argument_spec=INFO_ARGS, supports_check_mode=True)
    InfoTask(module).run()
