# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kill the run after QMP step k, for every step of every plug and unplug, both machine types, both releases.

"Killed after step k": the simulator acts on step k and drops the connection before its reply
(``--fault-drop-reply-on``), so the VM keeps what it received, its events are lost and the run stops
there, as when the module process is killed once its command went out. The module runs in-process
(its converge service, without Ansible) so that the 28 cases stay fast.

After each kill the next run of the same task must converge, its ``commands`` must be what the VM
received, the record must hold nothing the VM does not have, and no backend may be left: a raw
``blockdev-add`` / ``netdev_add`` of the id is accepted afterwards.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.client import qmp_session
from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.vm import Converge
from ansible_collections.stratovirt.qmp.plugins.module_utils._collection_error import CollectionError
from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.devices import argument_spec, failure_message
from ansible_collections.stratovirt.qmp.plugins.module_utils._host.process import held_taps, open_images
from conftest import received
from test_standard_modules import ROOT_PORTS
from tested_releases import MACHINES, EDGE_PROFILES as PROFILES

from stratovirt_sim.control import new_tap_name

PLUG = {'disk': ['blockdev-add', 'device_add'], 'nic': ['netdev_add', 'device_add']}
UNPLUG = {
    ('micro', 'disk'): ['device_del'],
    ('micro', 'nic'): ['device_del'],
    ('standard', 'disk'): ['device_del', 'blockdev-del'],
    ('standard', 'nic'): ['device_del', 'netdev_del'],
}
CASES = [
    (profile, machine, kind, action, step)
    for profile in PROFILES
    for machine in MACHINES
    for kind in ('disk', 'nic')
    for action, steps in (('plug', PLUG[kind]), ('unplug', UNPLUG[(machine, kind)]))
    for step in steps
]


def run(kind, **options):
    """The converge service with the module's defaults, its result as the module would return it."""
    params = {name: spec.get('default') for name, spec in argument_spec(kind).items()}
    params.update(options)
    service = Converge(params, (kind,))
    try:
        result = dict(service.run(), failed=False)
    except CollectionError as exc:
        result = dict(service.result, failed=True, msg=failure_message(exc, params['socket']))
    return dict(result, warnings=service.warnings)


def mutating(lines):
    return [json.loads(line) for line in lines if '"query-version"' not in line]


def record_of(socket_path):
    try:
        with open(os.path.realpath(socket_path) + '.devices.json', encoding='utf-8') as handle:
            return {entry['id']: entry for entry in json.load(handle)['devices']}
    except FileNotFoundError:
        return {}


def assert_record_true(vm, image, tap):
    """Every record entry is something the VM has: a plugged device's image or tap is held, a held tap is held."""
    images = [held.path for held in open_images(vm.pid)]
    taps = held_taps(vm.pid)
    for entry in record_of(vm.socket_path).values():
        assert entry['state'] in ('plugged', 'tap-held'), entry
        if entry['kind'] == 'disk':
            assert entry['path'] in images, (entry, images)
        else:
            assert entry['ifname'] in taps, (entry, taps)
    return images, taps


def probe_no_backend(vm, machine, kind, image):
    """A raw blockdev-add / netdev_add of the id is accepted: nothing of it is registered any more."""
    with qmp_session(vm.socket_path, 5) as client:
        if kind == 'disk':
            arguments = {'node-name': 'x1', 'file': {'driver': 'file', 'filename': image}, 'cache': {'direct': False}, 'read-only': True}
            assert client.execute('blockdev-add', arguments) == {}
            if machine == 'standard':
                client.execute('blockdev-del', {'node-name': 'x1'})
            else:
                client.execute('device_del', {'id': 'x1'})
        else:
            # A name no interface has: StratoVirt creates the tap and drops it with the netdev.
            assert client.execute('netdev_add', {'id': 'x1', 'ifname': new_tap_name('svk')}) == {}
            client.execute('netdev_del' if machine == 'standard' else 'device_del', {'id': 'x1'})


@pytest.mark.parametrize('profile, machine, kind, action, step', CASES, ids=['-'.join(case) for case in CASES])
def test_run_killed_after_step_k_is_converged(profile, machine, kind, action, step, start_vm, make_image, host_tap, tmp_path):
    sock = str(tmp_path / 'vm.sock')
    options = ['--record', sock + '.qmp.jsonl', '--fault-drop-reply-on', step]
    cmdline = []
    if machine == 'standard':
        # The guest lets a device go at once: the unplug a kill interrupts is complete in the guest.
        options += ['--machine', 'standard', '--guest-ack-delay', '0']
        cmdline = ROOT_PORTS
    vm = start_vm(profile=profile, options=options, cmdline=cmdline, name='vm.sock')
    image = make_image('x1.img')
    probe_image = make_image('probe.img')
    tap = host_tap() if kind == 'nic' else None
    device = {'path': image} if kind == 'disk' else {'ifname': tap}
    present = dict(device, socket=sock, id='x1')
    absent = dict(socket=sock, id='x1', state='absent')
    task = present if action == 'plug' else absent
    if action == 'unplug':
        assert not run(kind, **present)['failed']

    seen = len(received(sock))
    killed = run(kind, **task)
    assert killed['failed'] and 'closed by the peer' in killed['msg'], killed
    lines = received(sock)[seen:]
    assert killed['commands'] == mutating(lines), 'commands must list what reached the VM'
    assert killed['commands'][-1]['execute'] == step

    seen = len(received(sock))
    again = run(kind, **task)
    assert not again['failed'], again
    assert again['commands'] == mutating(received(sock)[seen:])
    images, taps = assert_record_true(vm, image, tap)
    entry = record_of(sock).get('x1')
    if action == 'plug':
        assert entry is not None and entry['state'] == 'plugged'
        assert (image in images) if kind == 'disk' else (tap in taps)
    else:
        assert entry is None or entry['state'] == 'tap-held'
        assert image not in images
    seen = len(received(sock))
    assert not run(kind, **task)['changed'] and mutating(received(sock)[seen:]) == [], 'converged: nothing more to send'

    if action == 'plug':
        unplugged = run(kind, **absent)
        assert not unplugged['failed'], unplugged
        assert_record_true(vm, image, tap)
    probe_no_backend(vm, machine, kind, probe_image)
    assert vm.alive()
