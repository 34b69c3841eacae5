# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge one VM's devices to what a task declares: plain parameters in, the module's result out.

Private to the stratovirt.qmp collection: may change in any release.
No Ansible here: ``_runners.devices`` adapts AnsibleModule to it, and tests drive it against a scripted or simulated VM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from .._device.spec import DeviceSpec
from .._collection_error import CollectionError
from .._device.errors import DeviceInputError
from .._device.kinds.registry import kind_named, spec_from_params, view_of
from .planner import Plan, plan_all
from .preflight import check_host_inputs, check_not_shared
from .resources import ResourcePlan, apply_balloon, plan_resources, targets_from_params
from .._qmp.client import qmp_session
from .session_options import check_session_options, lock_timeout, resolve_machine
from .._dialect.dialect import check_greeting, detect
from .._host.process import command_line, peer_pid
from .._device.state import VMState, gather

if TYPE_CHECKING:  # imported at run time only when something is sent
    from .applier import Applier


class Converge:
    """One run of ``stratovirt_disk``, ``stratovirt_nic`` or ``stratovirt_devices``, for one device or a list of them
    (one session). :meth:`run` returns the result; on failure, :attr:`result` holds what was done so far."""

    def __init__(self, params: Dict[str, Any], kinds: Sequence[str], check_mode: bool = False) -> None:
        self.params = params
        self.kinds = tuple(kinds)
        self.check_mode = check_mode
        self.list_options = [kind_named(kind).list_option for kind in self.kinds]
        self.list_form = len(self.kinds) > 1 or params.get(self.list_options[0]) is not None
        self.warnings: List[str] = []
        self.applier: Optional[Applier] = None
        self.state: Optional[VMState] = None
        self.plans: List[Plan] = []
        self.resource_plan: Optional[ResourcePlan] = None
        self.resources_sent: List[dict] = []
        self.done = 0
        self.result: Dict[str, Any] = {'changed': False, 'commands': [], 'stratovirt': None, 'diff': {'before': {}, 'after': {}}}
        if not self.list_form:
            self.result['device'] = None

    def run(self) -> Dict[str, Any]:
        """:raises CollectionError: after filling :attr:`result` with what reached the VM."""
        try:
            self._converge()
        except CollectionError:
            self._report(failed=True)
            raise
        self._report(failed=False)
        return self.result

    def declared_devices(self) -> List[DeviceSpec]:
        """The task's session options and devices, checked for form (no I/O): what a run checks before anything else.

        :raises DeviceInputError:
        """
        params = self.params
        check_session_options(params)
        if params['exclusive'] and not self.list_form:
            raise DeviceInputError('exclusive applies to the list form (%s) only' % self.list_options[0])
        if not self.list_form:
            return [spec_from_params(self.kinds[0], params)]
        specs = [spec_from_params(kind, item) for kind in self.kinds for item in params.get(kind_named(kind).list_option) or []]
        seen = set()
        for spec in specs:
            if spec.id in seen:
                raise DeviceInputError(
                    '%s %s id %s twice (disks and NICs of a VM share one id space)'
                    % (' and '.join(self.list_options), 'declare' if len(self.kinds) > 1 else 'declares', spec.id)
                )
            seen.add(spec.id)
        return specs

    def _converge(self) -> None:
        params = self.params
        socket_path = params['socket']
        specs = self.declared_devices()
        targets = targets_from_params(params)
        host_notes = {spec.id: check_host_inputs(spec) for spec in specs}
        with qmp_session(socket_path, params['timeout'], lock_timeout(params)) as client:
            check_greeting(client.greeting)  # a QEMU is refused before its command line is read or anything sent
            pid = peer_pid(client.connection)
            argv = command_line(pid)
            dialect = detect(client, resolve_machine(params['machine'], argv, self.check_mode))
            self.result['stratovirt'] = {'release': dialect.release_text, 'machine': dialect.machine, 'pid': pid}
            if dialect.release_warning:
                self.warnings.append(dialect.release_warning)
            state = self.state = gather(socket_path, dialect, pid, argv)
            for spec in specs:
                state.adopt_if_unexplained(spec)
            # Every device is planned, and so checked, before anything is sent.
            self.plans = plan_all(state, specs, self.kinds if params['exclusive'] else ())
            check_not_shared([spec for spec, plan in zip(specs, self.plans[-len(specs) :]) if plan.steps], pid)
            if targets.declared:  # read and refused, like the devices, before anything is sent
                self.resource_plan = plan_resources(client, dialect, argv, targets)
            for repair in state.repairs:
                self.warnings.append(repair)
            for plan in self.plans:
                note = host_notes.get(plan.device_id) if plan.entry is not None else None
                if note:
                    self.warnings.append(note)
            if self.check_mode:
                return
            resource_commands = self.resource_plan.commands if self.resource_plan is not None else []
            if not any(plan.steps for plan in self.plans) and not resource_commands:
                if state.repairs:
                    state.record.save()
                return
            # Imported here: a run with nothing to change, the common case on a fleet, does without it.
            from .applier import Applier  # pylint: disable=import-outside-toplevel

            applier = self.applier = Applier(client, state, params['wait_timeout'])
            for plan in self.plans:
                applier.apply(plan)
                self.done += 1
            for note in applier.notes:
                self.warnings.append(note)
            if resource_commands and self.resource_plan is not None:
                self.resources_sent = list(resource_commands)  # a balloon that fails changes nothing
                note = apply_balloon(client, dialect, self.resource_plan, params['wait_timeout'])
                if note:
                    self.warnings.append(note)

    def _report(self, failed: bool) -> None:
        """Fill the result from the plans: what was sent (or would be, in check mode) and where each device is."""
        checking = self.check_mode
        # A check-mode run that fails says nothing would change: the real run would fail at the same check, before
        # sending anything.
        would_apply = checking and not failed
        devices = []
        for index, plan in enumerate(self.plans):
            applied = would_apply or index < self.done
            if checking:
                after = plan.after if would_apply else plan.before
            elif applied or (failed and index == self.done):
                after = self._view_after_run(plan)
            else:
                after = plan.before
            devices.append(
                {
                    'id': plan.device_id,
                    'changed': bool(plan.steps) and applied,
                    'commands': plan.commands if would_apply else [],
                    'device': after,
                    'before': plan.before,
                }
            )
        if self.applier is not None:
            self.result.update(changed=self.applier.changed, commands=self.applier.sent)
            self._split_commands(self.applier.sent, devices)
        elif would_apply:
            self.result.update(changed=any(plan.steps for plan in self.plans), commands=[command for plan in self.plans for command in plan.commands])
        if checking:
            self.result['when'] = [condition for plan in self.plans for condition in plan.conditions]
        if self.list_form:
            self.result['devices'] = [{key: value for key, value in device.items() if key != 'before'} for device in devices]
            self.result['diff'] = {
                'before': {device['id']: device['before'] for device in devices if device['before']},
                'after': {device['id']: device['device'] for device in devices if device['device']},
            }
        elif devices:
            self.result['device'] = devices[0]['device']
            self.result['diff'] = {'before': devices[0]['before'] or {}, 'after': devices[0]['device'] or {}}
        self._report_resources(failed, would_apply)

    def _report_resources(self, failed: bool, would_apply: bool) -> None:
        """``resources``: the declared vCPUs and balloon before and after; its ``balloon`` command in ``commands``."""
        plan = self.resource_plan
        if plan is None:
            return
        applied = would_apply or (bool(self.resources_sent) and not failed)
        self.result['resources'] = {'before': plan.before, 'after': plan.after if applied else plan.before}
        if would_apply:
            self.result['commands'] = self.result['commands'] + plan.commands
        elif self.resources_sent:
            self.result['commands'] = self.result['commands'] + [command for command in self.resources_sent if command not in self.result['commands']]
        self.result['changed'] = self.result['changed'] or (applied and bool(plan.commands))
        if self.list_form:
            self.result['diff']['before']['resources'] = plan.before
            self.result['diff']['after']['resources'] = self.result['resources']['after']

    def _view_after_run(self, plan: Plan) -> Optional[dict]:
        device = self.state.devices.get(plan.device_id) if self.state is not None else None
        return view_of(device) if device is not None else None

    def _split_commands(self, sent: List[dict], devices: List[dict]) -> None:
        by_id: Dict[Optional[str], List[dict]] = {}
        for command in sent:
            arguments = command.get('arguments') or {}
            by_id.setdefault(arguments.get('id') or arguments.get('node-name'), []).append(command)
        for device in devices:
            device['commands'] = by_id.get(device['id'], [])
            device['changed'] = device['changed'] or bool(device['commands'])
