# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible adapter, run in-process with a stand-in for AnsibleModule against simulated VMs."""

from __future__ import annotations

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils import _qmp
from ansible_collections.stratovirt.qmp.plugins.module_utils._runner import DeviceTask, argument_spec
from ansible_collections.stratovirt.qmp.plugins.module_utils._stratovirt import NEWEST_KNOWN

LATER = '%d.%d.0' % (NEWEST_KNOWN[0], NEWEST_KNOWN[1] + 1)


class Done(Exception):
    def __init__(self, result):
        super().__init__(result.get('msg', ''))
        self.result = result


class Module:
    """What DeviceTask uses of AnsibleModule."""

    def __init__(self, kind, options, check_mode=False):
        self.params = {name: spec.get('default') for name, spec in argument_spec(kind).items()}
        self.params.update(options)
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise Done(dict(result, failed=False, warnings=self.warnings))

    def fail_json(self, **result):
        raise Done(dict(result, failed=True, warnings=self.warnings))


def run(kind, check_mode=False, **options):
    module = Module(kind, options, check_mode)
    with pytest.raises(Done) as done:
        DeviceTask(module, (kind,)).run()
    return done.value.result


@pytest.fixture
def newer_release(monkeypatch):
    """The VM reports a release after the newest known (the simulator plays the newest known one)."""
    execute = _qmp.QMPClient.execute

    def reporting_later(self, name, arguments=None):
        answer = execute(self, name, arguments)
        if name == 'query-version':
            answer = dict(answer, package='StratoVirt-%s' % LATER)
        return answer

    monkeypatch.setattr(_qmp.QMPClient, 'execute', reporting_later)


def test_a_newer_release_is_warned_about_once_and_driven_as_the_newest_known(start_vm, host_tap, newer_release):
    vm = start_vm('%d.%d.%d' % NEWEST_KNOWN)
    tap = host_tap()
    plugged = run('nic', socket=vm.socket_path, id='net-0', ifname=tap)
    assert not plugged['failed'], plugged
    assert plugged['stratovirt']['release'] == LATER
    about_release = [text for text in plugged['warnings'] if LATER in text]
    assert len(about_release) == 1 and 'driven as %d.%d.%d' % NEWEST_KNOWN in about_release[0]
    # The newest known release's micro VM NIC: chardev on device_add, and the unplug defect handled as there.
    assert plugged['commands'][-1]['arguments']['chardev'] == 'net-0'
    unplugged = run('nic', socket=vm.socket_path, id='net-0', state='absent')
    assert not unplugged['failed'] and unplugged['changed'], unplugged
    assert [command['execute'] for command in unplugged['commands']] == ['device_del', 'device_del']
    assert any('keeps its tap' in text for text in unplugged['warnings'])
