# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""stratovirt.qmp.vm_devices_report: loop results of ok, changed, failed and skipped VMs -> the role's report."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.stratovirt.qmp.plugins.filter.vm_devices_report import FilterModule, vm_devices_report

WEB = {'name': 'web1', 'socket': '/srv/vm/web1/qmp.sock'}
DB = {'name': 'db1', 'socket': '/srv/vm/db1/qmp.sock'}


def add(device_id):
    return [
        {'execute': 'blockdev-add', 'arguments': {'node-name': device_id, 'driver': 'raw'}},
        {'execute': 'device_add', 'arguments': {'id': device_id, 'driver': 'virtio-blk-mmio'}},
    ]


def delete(device_id):
    return [{'execute': 'device_del', 'arguments': {'id': device_id}}, {'execute': 'blockdev-del', 'arguments': {'node-name': device_id}}]


def item(vm, **fields):
    """One loop result as ansible-core registers it: the module's result plus the loop variable."""
    return dict(fields, vm_devices_vm=vm, ansible_loop_var='vm_devices_vm')


def entry(vm, changed=False, plugged=(), unplugged=(), commands=0, failed=False, msg='', pending=()):
    return {
        'name': vm['name'],
        'socket': vm['socket'],
        'changed': changed,
        'plugged': list(plugged),
        'unplugged': list(unplugged),
        'pending': list(pending),
        'commands': commands,
        'failed': failed,
        'msg': msg,
    }


CASES = {
    'ok, nothing to change': ([item(WEB, changed=False, commands=[])], [WEB], [entry(WEB)]),
    'changed, plugs in the order sent': (
        [item(WEB, changed=True, commands=add('data0') + add('net0'))],
        [WEB],
        [entry(WEB, changed=True, plugged=['data0', 'net0'], commands=4)],
    ),
    'replace, one id unplugged then plugged': (
        [item(WEB, changed=True, commands=delete('data0') + add('data0'))],
        [WEB],
        [entry(WEB, changed=True, plugged=['data0'], unplugged=['data0'], commands=4)],
    ),
    'an id sent twice is listed once': (
        [item(WEB, changed=True, commands=delete('data0') + delete('data0'))],
        [WEB],
        [entry(WEB, changed=True, unplugged=['data0'], commands=4)],
    ),
    'failed after a first plug: its commands count, its message is kept': (
        [item(WEB, changed=True, failed=True, msg='VM /srv/vm/web1/qmp.sock: image missing', commands=add('data0'))],
        [WEB],
        [entry(WEB, changed=True, plugged=['data0'], commands=2, failed=True, msg='VM /srv/vm/web1/qmp.sock: image missing')],
    ),
    'failed without a message': ([item(WEB, failed=True)], [WEB], [entry(WEB, failed=True, msg='failed without a message')]),
    'failed: false is not a failure': ([item(WEB, failed=False, changed=False, commands=[])], [WEB], [entry(WEB)]),
    'skipped VM': ([item(WEB, skipped=True, changed=False, skip_reason='Conditional result was False')], [WEB], [entry(WEB)]),
    'one VM failing does not hide the others, order of the declaration': (
        [item(DB, changed=True, commands=add('pgdata')), item(WEB, failed=True, msg='bad slot')],
        [WEB, DB],
        [entry(WEB, failed=True, msg='bad slot'), entry(DB, changed=True, plugged=['pgdata'], commands=2)],
    ),
    'a VM without a loop result (not attempted)': (
        [item(WEB, changed=True, commands=add('data0'))],
        [WEB, DB],
        [entry(WEB, changed=True, plugged=['data0'], commands=2), entry(DB)],
    ),
    'two VMs of one name share their results': (
        [item(WEB, changed=True, commands=add('data0')), item(WEB, failed=True, msg='a'), item(WEB, failed=True, msg='b')],
        [WEB],
        [entry(WEB, changed=True, plugged=['data0'], commands=2, failed=True, msg='a; b')],
    ),
    'no VMs': ([], [], []),
}


@pytest.mark.parametrize('results, vms, expected', list(CASES.values()), ids=list(CASES))
def test_report_entries(results, vms, expected):
    assert vm_devices_report({'results': results, 'changed': False, 'msg': 'All items completed'}, vms) == expected


def test_the_failed_result_of_a_rescue_is_read_the_same_way():
    # In the role's rescue, ansible_failed_result is the whole loop's result, failed at the top as well.
    failed = {
        'failed': True,
        'msg': 'One or more items failed',
        'changed': True,
        'results': [item(WEB, changed=True, commands=add('data0')), item(DB, failed=True, msg='no root port')],
    }
    assert vm_devices_report(failed, [WEB, DB]) == [entry(WEB, changed=True, plugged=['data0'], commands=2), entry(DB, failed=True, msg='no root port')]


def test_a_result_without_results_reports_every_vm_unchanged():
    assert vm_devices_report({}, [WEB]) == [entry(WEB)]


def test_a_task_failed_as_a_whole_fails_every_vm():
    # No loop ran (a templating error, say): no VM was converged, and the host must fail.
    failed = {'failed': True, 'msg': "'dict object' has no attribute 'socket'", 'changed': False}
    assert vm_devices_report(failed, [WEB, DB]) == [
        entry(WEB, failed=True, msg="'dict object' has no attribute 'socket'"),
        entry(DB, failed=True, msg="'dict object' has no attribute 'socket'"),
    ]


def test_loop_var_names_the_key_of_the_vm():
    results = [{'vm': WEB, 'changed': True, 'commands': add('data0')}]
    assert vm_devices_report({'results': results}, [WEB], loop_var='vm') == [entry(WEB, changed=True, plugged=['data0'], commands=2)]
    assert vm_devices_report({'results': results}, [WEB]) == [entry(WEB)]


@pytest.mark.parametrize('result, vms', [([], [WEB]), ('x', [WEB]), ({'results': []}, 'web1')])
def test_wrong_input_is_refused(result, vms):
    with pytest.raises(AnsibleFilterError):
        vm_devices_report(result, vms)


def fleet_entry(vm, **fields):
    """One entry of the ``vms`` of a stratovirt_vms result."""
    return dict({'name': vm['name'], 'socket': vm['socket'], 'changed': False, 'failed': False, 'msg': '', 'commands': [], 'devices': []}, **fields)


def test_a_stratovirt_vms_result_is_read_per_vm_by_name():
    result = {
        'changed': True,
        'vms': [
            fleet_entry(DB, changed=True, commands=delete('old0'), devices=[{'id': 'old0', 'changed': True, 'device': {'id': 'old0', 'unplug_pending': True}}]),
            fleet_entry(WEB, changed=True, commands=add('data0'), devices=[{'id': 'data0', 'changed': True, 'device': {'id': 'data0'}}]),
        ],
    }
    assert vm_devices_report(result, [WEB, DB]) == [
        entry(WEB, changed=True, plugged=['data0'], commands=2),
        entry(DB, changed=True, unplugged=['old0'], commands=2, pending=['old0']),
    ]


def test_the_failed_result_of_stratovirt_vms_names_each_failed_vm():
    failed = {
        'failed': True,
        'msg': '1 of 2 VMs failed: db1 (...)',
        'vms': [fleet_entry(WEB, changed=True, commands=add('data0')), fleet_entry(DB, failed=True, msg='VM /srv/vm/db1/qmp.sock: image missing')],
    }
    assert vm_devices_report(failed, [WEB, DB]) == [
        entry(WEB, changed=True, plugged=['data0'], commands=2),
        entry(DB, failed=True, msg='VM /srv/vm/db1/qmp.sock: image missing'),
    ]


def test_a_refused_stratovirt_vms_run_fails_only_the_vms_at_fault():
    refused = {
        'failed': True,
        'msg': '1 of the declared VMs is wrong',
        'vms': [fleet_entry(WEB, attempted=False, failed=True, msg='disk data0: addr zz is not a slot number'), fleet_entry(DB, attempted=False)],
    }
    assert vm_devices_report(refused, [WEB, DB]) == [entry(WEB, failed=True, msg='disk data0: addr zz is not a slot number'), entry(DB)]


def test_the_filter_is_exposed_under_its_name():
    assert FilterModule().filters() == {'vm_devices_report': vm_devices_report}
