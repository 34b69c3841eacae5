# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge every declared VM of a host in one run: one ``_converge.vm.Converge`` per VM, a few at a time.

Private to the stratovirt.qmp collection: may change in any release.
No Ansible here: ``_runners.vms`` adapts AnsibleModule to it.

Each VM is converged exactly as ``stratovirt_devices`` converges it (its own QMP session under its own per-VM lock,
every guard, rollback and record rule), in a worker thread: the work of a VM is mostly waiting for its monitor, so a
few threads overlap the VMs' round trips. One VM's failure does not stop the others. Before any VM is contacted,
every VM's declaration is checked (the checks ``Converge`` makes before it connects): one wrong declaration refuses
the whole run, as a wrong item of a list refuses the whole ``stratovirt_devices`` task.
"""

from __future__ import annotations

import traceback
from typing import Any, Dict, Iterable, List, Optional, Sequence

from .vm import Converge
from .._collection_error import CollectionError
from .._device.errors import FleetInputError
from .._device.vm_declaration import name_problem, name_problems, vm_label
from .._host.vms import compare_declared, running_vms, socket_key
from .session_options import failure_message
from .thread_pool import DEFAULT_WORKERS, check_workers, run_bounded


def vm_entry(
    name: str,
    socket: Optional[str],
    attempted: bool = False,
    changed: bool = False,
    failed: bool = False,
    msg: str = '',
    commands: Optional[List[dict]] = None,
    devices: Optional[List[dict]] = None,
    stratovirt: Optional[dict] = None,
) -> Dict[str, Any]:
    """One entry of the result's ``vms``; the defaults are those of a VM that was not attempted."""
    return {
        'name': name,
        'socket': socket,
        'attempted': attempted,
        'changed': changed,
        'failed': failed,
        'msg': msg,
        'commands': commands or [],
        'devices': devices or [],
        'stratovirt': stratovirt,
    }


class VMRun:
    """The converge of one VM of the fleet, and what it reports."""

    def __init__(self, params: Dict[str, Any], kinds: Sequence[str], check_mode: bool) -> None:
        self.name = params['name']
        self.socket = params['socket']
        self.converge = Converge({key: value for key, value in params.items() if key != 'name'}, kinds, check_mode)
        self.failed = False
        self.msg = ''
        self.attempted = False
        self.exception: Optional[str] = None

    def check(self) -> None:
        """What ``Converge`` checks before it connects, made before any VM is contacted.

        :raises DeviceInputError: the declaration is wrong.
        """
        self.converge.declared_devices()

    def run(self) -> 'VMRun':
        self.attempted = True
        try:
            self.converge.run()
        except CollectionError as exc:
            self.failed, self.msg = True, failure_message(exc, self.socket)
        except Exception as exc:  # pylint: disable=broad-except
            # A defect met on one VM must not hide the others' results: it fails this VM, with its traceback.
            self.failed = True
            self.msg = 'VM %s: unexpected %s: %s' % (self.socket, type(exc).__name__, exc)
            self.exception = traceback.format_exc()
        return self

    def entry(self) -> Dict[str, Any]:
        """This VM's entry of the result's ``vms``."""
        result = self.converge.result
        entry = vm_entry(
            self.name,
            self.socket,
            attempted=self.attempted,
            changed=bool(result['changed']),
            failed=self.failed,
            msg=self.msg,
            commands=result['commands'],
            devices=result.get('devices', []),
            stratovirt=result['stratovirt'],
        )
        if 'when' in result:
            entry['when'] = result['when']
        if self.exception:
            entry['exception'] = self.exception
        return entry


class Fleet:
    """One run over the declared VMs of a host: :meth:`run` returns the result (``failed`` set if a VM failed)."""

    def __init__(self, vms: Iterable[Dict[str, Any]], kinds: Sequence[str], check_mode: bool = False, workers: int = DEFAULT_WORKERS) -> None:
        self.declared = list(vms)
        self.kinds = tuple(kinds)
        self.check_mode = check_mode
        self.workers = workers
        self.runs: List[VMRun] = []
        self.host: Optional[Dict[str, list]] = None

    def check(self) -> None:
        """Every declaration, before anything is sent to any VM.

        :raises FleetInputError: naming each VM at fault and why.
        """
        check_workers(self.workers)
        problems = name_problems(self.declared)
        sockets: Dict[object, str] = {}
        named = set()
        for number, params in enumerate(self.declared):
            name = vm_label(params, number)
            if name in named or name_problem(params.get('name')):
                continue  # in problems already
            named.add(name)
            try:
                run = VMRun(params, self.kinds, self.check_mode)
                run.check()
            except CollectionError as exc:
                problems[name] = failure_message(exc, params.get('socket') or '')
                continue
            key = socket_key(run.socket)
            if key in sockets:
                problems[name] = 'its socket %s is that of VM %s too' % (run.socket, sockets[key])
                continue
            sockets[key] = name
            self.runs.append(run)
        if problems:
            raise FleetInputError(problems)

    def run(self) -> Dict[str, Any]:
        """:raises FleetInputError: see :meth:`check`; nothing was sent. Any other failure is a VM's, in its entry."""
        self.check()
        try:
            self.host = compare_declared(self.declared, running_vms())
        except CollectionError:
            self.host = None  # the listing is a report; it never stops a converge
        run_bounded(VMRun.run, self.runs, self.workers)
        return self.result()

    def result(self) -> Dict[str, Any]:
        entries = [run.entry() for run in self.runs]
        diff: Dict[str, Dict[str, Any]] = {'before': {}, 'after': {}}
        for run in self.runs:
            vm_diff = run.converge.result['diff']
            if vm_diff['before'] or vm_diff['after']:
                diff['before'][run.name] = vm_diff['before']
                diff['after'][run.name] = vm_diff['after']
        failed = [run for run in self.runs if run.failed]
        result = {'changed': any(entry['changed'] for entry in entries), 'vms': entries, 'diff': diff, 'failed_vms': [run.name for run in failed]}
        if self.host is not None:
            result['host'] = self.host
        if failed:
            named = '; '.join('%s (%s)' % (run.name, run.msg) for run in failed)
            result['msg'] = '%d of %d VMs failed: %s' % (len(failed), len(self.runs), named)
        return result

    def refused(self, error: FleetInputError) -> Dict[str, Any]:
        """The result of a run refused by :meth:`check`: one entry per declared VM, none attempted."""
        entries: List[Dict[str, Any]] = []
        for number, params in enumerate(self.declared):
            name = vm_label(params, number)
            problem = error.problems.get(name)
            entries.append(vm_entry(name, params.get('socket'), failed=problem is not None, msg=problem or ''))
        return {'changed': False, 'vms': entries, 'diff': {'before': {}, 'after': {}}, 'failed_vms': [entry['name'] for entry in entries if entry['failed']]}

    def warnings(self) -> List[str]:
        return ['%s: %s' % (run.name, text) for run in self.runs for text in run.converge.warnings]
