# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for the ``ansible.posix.json`` stdout callback, for the integration tests only.

ansible-core 2.19 routes the ``json`` callback to the ansible.posix collection, which is not
installed here (and Galaxy is not reachable). This writes the same document shape at the end of
the run: ``{"plays": [{"play": ..., "tasks": [{"task": ..., "hosts": {HOST: RESULT}}]}], "stats": ...}``.
"""

from __future__ import annotations

import json

from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r'''
name: json
type: stdout
short_description: Ansible screen output as one JSON document (test stand-in for ansible.posix.json)
description:
  - Writes the results of the whole run as one JSON document when the run ends.
'''


class CallbackModule(CallbackBase):
    """Collects every task result and prints them as one JSON document at the end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'json'

    def __init__(self, display=None):
        super().__init__(display)
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})

    def v2_playbook_on_task_start(self, task, is_conditional):  # pylint: disable=unused-argument  # the callback API's
        self.plays[-1]['tasks'].append({'task': {'name': task.get_name()}, 'hosts': {}})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _record(self, result, **status):
        # Same keys as ansible.posix.json: the module's result, plus the outcome flags and the action name.
        recorded = dict(result.result)
        recorded.update(status)
        recorded['action'] = result.task.action
        self.plays[-1]['tasks'][-1]['hosts'][result.host.name] = recorded

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):  # pylint: disable=unused-argument  # the callback API's
        # ignore_errors is not recorded, as in ansible.posix.json: the task's own fields say it.
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._display.display(json.dumps({'plays': self.plays, 'stats': summary}, cls=AnsibleJSONEncoder, indent=4, sort_keys=True))
