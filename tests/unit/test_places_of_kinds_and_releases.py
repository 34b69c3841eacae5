# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every device kind and every tested release appears in every place it must (docs/architecture.md, "Recipes").

A kind: its module, its doc fragment (and the modules that extend it), the action group of meta/runtime.yml, the
record's kinds, the vm_devices role's argument specs, and the simulator's drivers. A release: the simulator's
profiles (wire, standard VM, command schema, events), both recordings and their replay plans and tests, the
simulated_vm role's choices, the release data's range, and the README. Each check is shown finding the places a
planted kind or release lacks.
"""

from __future__ import annotations

import importlib
import os
import sys

import pytest
import yaml

import ansible_collections.stratovirt.qmp as collection_package
from ansible_collections.stratovirt.qmp.plugins.doc_fragments.stratovirt import ModuleDocFragment
from ansible_collections.stratovirt.qmp.plugins.module_utils._device import record
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import KINDS
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect import releases
from stratovirt_sim import micro, profiles, schemas, standard
from tested_releases import PROFILES, release  # pylint: disable=import-error

ROOT = list(collection_package.__path__)[0]
TESTS = os.path.join(ROOT, 'tests')
MACHINE_FILES = ('microvm', 'standard')  # how the recordings' file names say micro and standard


def _yaml(*parts: str):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def _text(*parts: str) -> str:
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as handle:
        return handle.read()


def _replay_modules():
    sys.path.insert(0, os.path.join(TESTS, 'replay'))
    try:
        return importlib.import_module('replay'), importlib.import_module('test_replay')
    finally:
        sys.path.pop(0)


def places_missing_for_kind(kind: str, cold_drivers=()) -> list:
    module = 'stratovirt_%s' % kind
    missing = []
    module_path = os.path.join(ROOT, 'plugins', 'modules', module + '.py')
    if not os.path.exists(module_path):
        missing.append('module plugins/modules/%s.py' % module)
    fragment = 'stratovirt.qmp.stratovirt.%s_list' % kind
    if not hasattr(ModuleDocFragment, '%s_LIST' % kind.upper()):
        missing.append('doc fragment %s_LIST' % kind.upper())
    for extender in (module, 'stratovirt_devices'):
        path = os.path.join(ROOT, 'plugins', 'modules', extender + '.py')
        if not os.path.exists(path) or fragment not in _text('plugins', 'modules', extender + '.py'):
            missing.append('%s extends %s' % (extender, fragment))
    if module not in _yaml('meta', 'runtime.yml')['action_groups']['stratovirt']:
        missing.append('action group stratovirt in meta/runtime.yml')
    if kind not in record.DEVICE_KINDS:
        missing.append('record.DEVICE_KINDS')
    vm_options = _yaml('roles', 'vm_devices', 'meta', 'argument_specs.yml')['argument_specs']['main']['options']['vm_devices_vms']['options']
    if kind + 's' not in vm_options:
        missing.append('vm_devices argument specs: vm_devices_vms.%ss' % kind)
    simulated = {micro.driver_kind(driver) for driver in cold_drivers}
    if not cold_drivers or None in simulated or not simulated <= set(standard.ERROR_PREFIX):
        missing.append('simulator drivers')
    return missing


def places_missing_for_release(profile: str) -> list:
    replay, test_replay = _replay_modules()
    missing = []
    for name, table in (
        ('profiles.PROFILES', profiles.PROFILES),
        ('profiles.STANDARD_TRAITS', profiles.STANDARD_TRAITS),
        ('profiles.EVENTS', profiles.EVENTS),
        ('schemas.PROFILES', schemas.PROFILES),
    ):
        if profile not in table:
            missing.append('simulator ' + name)
    for file_machine in MACHINE_FILES:
        name = 'stratovirt-%s-%s.jsonl' % (profile, file_machine)
        if not os.path.exists(os.path.join(TESTS, 'fixtures', 'transcripts', name)):
            missing.append('recording ' + name)
        if (profile, file_machine) not in replay.PLANS:
            missing.append('replay plan of ' + name)
        replayed = '%s-%s' % (profile, file_machine) in test_replay.RECORDINGS or os.path.basename(replay.DEFAULT_TRANSCRIPT) == name
        if not replayed:
            missing.append('tests/replay/test_replay.py replays ' + name)
        if name not in _text('tests', 'fixtures', 'transcripts', 'README.md'):
            missing.append('tests/fixtures/transcripts/README.md names ' + name)
    choices = _yaml('roles', 'simulated_vm', 'meta', 'argument_specs.yml')['argument_specs']['main']['options']['simulated_vm_vms']['options']['release'][
        'choices'
    ]
    if profile not in choices:
        missing.append('simulated_vm argument specs: release choices')
    if not releases.OLDEST_SUPPORTED <= release(profile) <= releases.NEWEST_KNOWN:
        missing.append('release data range (OLDEST_SUPPORTED..NEWEST_KNOWN)')
    if profile not in _text('README.md'):
        missing.append('README.md')
    return missing


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_every_kind_is_in_every_place(kind):
    assert places_missing_for_kind(kind, KINDS[kind].cold_drivers) == []


def test_a_kind_missing_everywhere_is_found_missing_everywhere():
    assert places_missing_for_kind('gpu', ('virtio-gpu-pci',)) == [
        'module plugins/modules/stratovirt_gpu.py',
        'doc fragment GPU_LIST',
        'stratovirt_gpu extends stratovirt.qmp.stratovirt.gpu_list',
        'stratovirt_devices extends stratovirt.qmp.stratovirt.gpu_list',
        'action group stratovirt in meta/runtime.yml',
        'record.DEVICE_KINDS',
        'vm_devices argument specs: vm_devices_vms.gpus',
        'simulator drivers',
    ]


def test_the_kinds_are_the_records_kinds():
    assert sorted(KINDS) == sorted(record.DEVICE_KINDS)


@pytest.mark.parametrize('profile', PROFILES)
def test_every_tested_release_is_in_every_place(profile):
    assert places_missing_for_release(profile) == []


def test_a_release_missing_everywhere_is_found_missing_everywhere():
    missing = places_missing_for_release('2.6.0')
    assert missing == [
        'simulator profiles.PROFILES',
        'simulator profiles.STANDARD_TRAITS',
        'simulator profiles.EVENTS',
        'simulator schemas.PROFILES',
        'recording stratovirt-2.6.0-microvm.jsonl',
        'replay plan of stratovirt-2.6.0-microvm.jsonl',
        'tests/replay/test_replay.py replays stratovirt-2.6.0-microvm.jsonl',
        'tests/fixtures/transcripts/README.md names stratovirt-2.6.0-microvm.jsonl',
        'recording stratovirt-2.6.0-standard.jsonl',
        'replay plan of stratovirt-2.6.0-standard.jsonl',
        'tests/replay/test_replay.py replays stratovirt-2.6.0-standard.jsonl',
        'tests/fixtures/transcripts/README.md names stratovirt-2.6.0-standard.jsonl',
        'simulated_vm argument specs: release choices',
        'release data range (OLDEST_SUPPORTED..NEWEST_KNOWN)',
        'README.md',
    ]


def test_the_simulator_plays_only_tested_releases():
    assert sorted(profiles.PROFILES) == sorted(PROFILES)
