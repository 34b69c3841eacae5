# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_devices role's argument spec says what stratovirt_devices takes, and the role passes it all through
(each VM, as declared, to stratovirt_vms, whose items are checked with stratovirt_devices' own argument spec).

The module's options are read as users read them, with ``ansible-doc --json`` (validate-modules ties those docs to
the module's argument spec). The rule for defaults: a role option carries exactly the module option's default, or
none when the module has none; the role itself sets none (it passes an unset option with ``omit``), so the role's
default is the module's, shown by ``ansible-doc -t role``.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

import ansible_collections.stratovirt.qmp as collection_package

MODULE = 'stratovirt.qmp.stratovirt_devices'
# The role's one call: each item of its vms takes the options of MODULE (and name), checked with MODULE's argspec.
FLEET_MODULE = 'stratovirt.qmp.stratovirt_vms'
ANSIBLE_DOC = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
COLLECTION_DIR = list(collection_package.__path__)[0]
ROLE_DIR = os.path.join(COLLECTION_DIR, 'roles', 'vm_devices')
# Role-only keys of a VM: not module options.
ROLE_ONLY = {'name'}
# The keys compared, and their value when absent.
ABSENT = object()
COMPARED = {'type': 'str', 'elements': ABSENT, 'choices': ABSENT, 'default': ABSENT, 'required': False}
LIST_OPTIONS = ('disks', 'nics')


def collections_root() -> str:
    """The directory holding ``ansible_collections/`` that this process imports the collection from."""
    return os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION_DIR)))


@pytest.fixture(scope='module')
def module_options():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1')
    completed = subprocess.run([ANSIBLE_DOC, '--json', MODULE], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    options = json.loads(completed.stdout)[MODULE]['doc']['options']
    # Required all the same: the module checks it itself, so that its message can say how to set it for a play.
    options['socket']['required'] = True
    return options


@pytest.fixture(scope='module')
def role_vm_options():
    with open(os.path.join(ROLE_DIR, 'meta', 'argument_specs.yml'), encoding='utf-8') as stream:
        spec = yaml.safe_load(stream)
    return spec['argument_specs']['main']['options']['vm_devices_vms']['options']


@pytest.fixture(scope='module')
def converge_task():
    with open(os.path.join(ROLE_DIR, 'tasks', 'main.yml'), encoding='utf-8') as stream:
        tasks = yaml.safe_load(stream)
    found = [task for block in tasks for task in block.get('block', [block]) if FLEET_MODULE in task]
    assert len(found) == 1, 'the role has one %s task' % FLEET_MODULE
    return found[0]


@pytest.fixture(scope='module')
def role_options():
    with open(os.path.join(ROLE_DIR, 'meta', 'argument_specs.yml'), encoding='utf-8') as stream:
        return yaml.safe_load(stream)['argument_specs']['main']['options']


def _compared(option: dict) -> dict:
    values = {}
    for key, absent in COMPARED.items():
        value = option.get(key, absent)
        if key == 'choices' and value is not ABSENT:
            value = sorted(str(choice) for choice in value)
        # JSON text: 10 and 10.0, or 1 and true, are different defaults.
        values[key] = value if value is ABSENT else json.dumps(value, sort_keys=True)
    return values


def differences(module: dict, role: dict, where: str = '', role_only=frozenset()) -> list:
    """What differs between module options and role options (``options`` or ``suboptions``), one line each."""
    found = []
    for name in sorted(set(module) - set(role)):
        found.append('%s%s: a module option the role does not declare' % (where, name))
    for name in sorted(set(role) - set(module) - set(role_only)):
        found.append('%s%s: a role option the module does not have' % (where, name))
    for name in sorted(set(module) & set(role)):
        module_values, role_values = _compared(module[name]), _compared(role[name])
        for key in COMPARED:
            if module_values[key] != role_values[key]:
                found.append(
                    '%s%s: %s is %s in the module, %s in the role'
                    % (
                        where,
                        name,
                        key,
                        'unset' if module_values[key] is ABSENT else module_values[key],
                        'unset' if role_values[key] is ABSENT else role_values[key],
                    )
                )
        module_sub = module[name].get('suboptions') or {}
        role_sub = role[name].get('options') or {}
        if module_sub or role_sub:
            found += differences(module_sub, role_sub, '%s%s[].' % (where, name))
    return found


def test_the_role_declares_every_module_option_as_the_module_does(module_options, role_vm_options):
    assert differences(module_options, role_vm_options, 'vm_devices_vms[].', ROLE_ONLY) == []


def test_the_item_options_of_disks_and_nics_are_compared(module_options, role_vm_options):
    for name in LIST_OPTIONS:
        assert module_options[name]['suboptions'] and role_vm_options[name]['options'], name


@pytest.mark.parametrize(
    'change, expected',
    [
        (lambda vm: vm['timeout'].update(default=20.0), 'vm_devices_vms[].timeout: default is 10.0 in the module, 20.0'),
        (lambda vm: vm['timeout'].update(default=10), 'vm_devices_vms[].timeout: default is 10.0 in the module, 10 in'),
        (lambda vm: vm['exclusive'].pop('default'), 'vm_devices_vms[].exclusive: default is false in the module, unset'),
        (lambda vm: vm['disks'].update(default=[]), 'vm_devices_vms[].disks: default is unset in the module, []'),
        (lambda vm: vm['machine'].update(choices=['auto', 'micro']), 'vm_devices_vms[].machine: choices is'),
        (lambda vm: vm['socket'].update(type='str'), 'vm_devices_vms[].socket: type is "path" in the module, "str"'),
        (lambda vm: vm['socket'].pop('required'), 'vm_devices_vms[].socket: required is true in the module, false'),
        (lambda vm: vm['nics'].update(elements='str'), 'vm_devices_vms[].nics: elements is "dict"'),
        (
            lambda vm: vm['disks']['options']['direct'].update(default=False),
            'vm_devices_vms[].disks[].direct: default is true in the module, false in the role',
        ),
        (lambda vm: vm['nics']['options']['id'].pop('required'), 'vm_devices_vms[].nics[].id: required is true'),
        (lambda vm: vm['nics']['options'].pop('mac'), 'vm_devices_vms[].nics[].mac: a module option the role does not'),
        (lambda vm: vm['disks']['options'].update(size={'type': 'int'}), 'vm_devices_vms[].disks[].size: a role option'),
        (lambda vm: vm.pop('wait_timeout'), 'vm_devices_vms[].wait_timeout: a module option the role does not declare'),
    ],
)
def test_a_drift_is_found(module_options, role_vm_options, change, expected):
    drifted = copy.deepcopy(role_vm_options)
    change(drifted)
    found = differences(module_options, drifted, 'vm_devices_vms[].', ROLE_ONLY)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_the_role_passes_every_vm_as_declared_and_sets_no_default(converge_task):
    """Each VM reaches the module as declared, so every option takes the module's default when the VM leaves it out."""
    assert converge_task[FLEET_MODULE] == {'vms': '{{ vm_devices_vms }}', 'workers': '{{ vm_devices_workers | default(omit) }}'}
    assert 'module_defaults' not in converge_task


def test_each_vm_of_the_fleet_module_takes_the_options_of_stratovirt_devices(module_options):
    from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.vms import vm_argument_spec
    from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.devices import devices_argument_spec

    spec = vm_argument_spec()
    assert sorted(spec) == sorted(set(module_options) | ROLE_ONLY)
    devices = devices_argument_spec()
    for name in module_options:
        expected = {key: value for key, value in devices[name].items() if key != 'fallback'}
        if name == 'socket':  # each VM says its socket: no environment, no module_defaults
            expected['required'] = True
        assert spec[name] == expected, name


def test_the_role_workers_default_is_the_module_default(role_options):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1')
    completed = subprocess.run([ANSIBLE_DOC, '--json', FLEET_MODULE], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    workers = json.loads(completed.stdout)[FLEET_MODULE]['doc']['options']['workers']
    assert _compared(workers) == _compared(role_options['vm_devices_workers'])
