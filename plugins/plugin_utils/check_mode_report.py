# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of the modules that send QMP commands: in check mode, their result is shown at the default verbosity.

Private to the stratovirt.qmp collection: may change in any release.

The module runs as it would without this action. Only when it ran in check mode and would send commands does the
result get a ``msg`` naming them and the flag that makes Ansible's output show the result without ``-v`` (as
``ansible.builtin.debug`` does): a ``--check`` run then says which QMP commands it would send, not only ``changed``.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase


def _named(command: dict) -> str:
    arguments = command.get('arguments') or {}
    target = arguments.get('id') or arguments.get('node-name')
    return '%s %s' % (command.get('execute'), target) if target else str(command.get('execute'))


def would_send(result: dict) -> list:
    """The commands of a module's check-mode result: ``commands``, or those of each VM of ``stratovirt_vms``."""
    if 'vms' in result and 'commands' not in result:
        return [command for vm in result.get('vms') or [] for command in vm.get('commands') or []]
    return list(result.get('commands') or [])


class CheckModeReportAction(ActionBase):
    """Runs the module of the task; in check mode, shows what it would send."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(module_name=self._task.resolved_action, task_vars=task_vars))
        commands = would_send(result)
        if self._task.check_mode and commands and not result.get('failed'):
            result.setdefault('msg', 'check mode, would send: ' + ', '.join(_named(command) for command in commands))
            result['_ansible_verbose_always'] = True
        return result
