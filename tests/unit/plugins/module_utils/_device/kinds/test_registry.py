# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device kinds are strategies behind a registry: no kind branch outside the kind modules, unknown kinds refused."""

from __future__ import annotations

import ast
import os

import pytest

from ansible_collections.stratovirt.qmp.plugins import module_utils
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.model import Device
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.record import DEVICE_KINDS
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import (
    KINDS,
    UnknownKindError,
    kind_named,
    spec_from_params,
    view_of,
)

MODULE_UTILS = list(module_utils.__path__)[0]
# The kind modules and their registry: the one folder where kind names and kind fields may be tested.
KINDS_FOLDER = os.path.join('_device', 'kinds')
# Fields only one kind has: a test on them is a kind branch in disguise.
KIND_FIELDS = frozenset(('path', 'ifname', 'serial', 'mac', 'aio', 'direct', 'read_only', 'create_tap'))
KIND_WORDS = frozenset(KINDS) | frozenset(kind.list_option for kind in KINDS.values())


def _docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                yield first.value


def _record_vocabulary(tree):
    """The record format's own list of kinds (checked against the registry below), and nothing else."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(target, 'id', None) for target in node.targets] == ['DEVICE_KINDS']:
            yield from ast.walk(node.value)


def _tests(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.IfExp, ast.While)):
            yield node.test
        elif isinstance(node, ast.comprehension):
            yield from node.ifs


def offences(source: str) -> list:
    tree = ast.parse(source)
    allowed = {id(node) for node in _docstrings(tree)} | {id(node) for node in _record_vocabulary(tree)}
    found = []
    for node in ast.walk(tree):
        if id(node) in allowed:
            continue
        if isinstance(node, ast.Constant) and node.value in KIND_WORDS:
            found.append('kind name %r at line %d' % (node.value, node.lineno))
        elif isinstance(node, ast.Name) and node.id.startswith('KIND_'):
            found.append('%s at line %d' % (node.id, node.lineno))
    for test in _tests(tree):
        for node in ast.walk(test):
            # os.path is the module; self.path of a record or lock is a file of ours, not a device's field.
            owner = getattr(node, 'value', None)
            if isinstance(node, ast.Attribute) and node.attr in KIND_FIELDS and not (isinstance(owner, ast.Name) and owner.id in ('os', 'self')):
                found.append('a test on .%s at line %d' % (node.attr, node.lineno))
    return found


def kind_branches_under(root: str) -> dict:
    """{file relative to ``root``: offences} of every Python file under ``root`` (sub-folders included) but the kinds'."""
    found = {}
    for directory, dummy_dirs, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            if name.endswith('.py') and os.path.dirname(relative) != KINDS_FOLDER:
                with open(path, encoding='utf-8') as handle:
                    found[relative] = offences(handle.read())
    return {name: what for name, what in found.items() if what}


def test_no_kind_branch_outside_the_kind_modules():
    assert kind_branches_under(MODULE_UTILS) == {}


def test_the_guard_walks_every_package(tmp_path):
    for folder in ('_converge', os.path.join('_device', 'kinds', 'deeper'), KINDS_FOLDER):
        os.makedirs(str(tmp_path / folder), exist_ok=True)
        (tmp_path / folder / 'planted.py').write_text("if spec.kind == 'disk':\n    pass\n")
    assert sorted(kind_branches_under(str(tmp_path))) == [os.path.join('_converge', 'planted.py'), os.path.join('_device', 'kinds', 'deeper', 'planted.py')]


@pytest.mark.parametrize(
    'source',
    [
        "if spec.kind == 'disk':\n    pass\n",
        "label = {'disk': 'disk', 'nic': 'NIC'}[kind]\n",
        "limit = MICRO_DISK_SLOTS if kind == KIND_DISK else 2\n",
        "if device.path:\n    holds = True\n",
        "taps = [device for device in devices if device.ifname]\n",
        "while entry.serial is None:\n    pass\n",
    ],
)
def test_the_guard_sees_a_kind_branch(source):
    assert offences(source)


@pytest.mark.parametrize(
    'source',
    [
        '"""Disks and NICs: a \'disk\' docstring."""\n',
        "DEVICE_KINDS = ('disk', 'nic')\n",
        "kind = kind_named(entry.kind)\nif kind.host_holds(state, entry):\n    pass\n",
    ],
)
def test_the_guard_lets_a_registry_lookup_pass(source):
    assert offences(source) == []


def test_the_record_format_names_exactly_the_registered_kinds():
    assert set(DEVICE_KINDS) == set(KINDS)


def test_an_unknown_kind_is_refused_not_taken_for_another():
    with pytest.raises(UnknownKindError, match="unknown device kind 'usb'"):
        kind_named('usb')
    with pytest.raises(UnknownKindError):
        spec_from_params('usb', {'id': 'u0'})
    with pytest.raises(UnknownKindError):
        view_of(Device('u0', 'usb', 0))


@pytest.mark.parametrize('kind, field, value', [('disk', 'path', '/srv/vm/d.img'), ('nic', 'ifname', 'tap0')])
def test_each_kind_shows_its_own_field(kind, field, value):
    shown = view_of(Device('d0', kind, 1, options={field: value, 'x': 1}))
    assert shown == {'id': 'd0', 'kind': kind, 'addr': '0x1', 'source': 'record', field: value, 'x': 1, 'guest_name': {'disk': 'vdb', 'nic': 'eth1'}[kind]}


def test_every_kind_declares_its_options_and_places():
    for kind in KINDS.values():
        assert kind.name and kind.label and kind.list_option and kind.module and kind.options and kind.micro_slots > 0
        assert set(kind.string_options) <= set(kind.options)


class _DiskWithWriteCache(type(KINDS['disk'])):
    """A disk kind with one more (made-up) option, declared the way a maintainer would add it: in the kind alone."""

    options = dict(type(KINDS['disk']).options, write_cache=dict(type='bool', default=False))
    compared = dict(type(KINDS['disk']).compared, write_cache='equal')


def test_a_declared_device_keeps_the_task_s_values_and_their_normal_form(tmp_path):
    image = tmp_path / 'd.img'
    image.write_bytes(b'')
    link = tmp_path / 'link.img'
    link.symlink_to(image)
    spec = spec_from_params('disk', {'id': 'd0', 'path': str(link), 'addr': '0x2'})
    assert (spec.kind, spec.id, spec.slot, spec.state, spec.on_change) == ('disk', 'd0', 2, 'present', 'fail')
    assert spec.options == {
        'path': str(link),
        'read_only': False,
        'direct': True,
        'aio': None,
        'serial': None,
        'discard': None,
        'format': None,
        'detect_zeroes': None,
        'iops': None,
        'iothread': None,
        'num_queues': None,
        'queue_size': None,
        'boot_index': None,
    }
    assert spec.normal == dict(spec.options, path=os.path.realpath(str(image)))


def test_a_new_kind_option_is_read_compared_and_recorded_from_the_kind_alone(tmp_path):
    image = str(tmp_path / 'd.img')
    kind = _DiskWithWriteCache()
    base = spec_from_params('disk', {'id': 'd0', 'path': image})
    spec = kind.read(base._replace(options={}, normal={}), {'id': 'd0', 'path': image, 'write_cache': True})
    assert spec.normal['write_cache'] is True
    assert kind.recorded_options(dict(spec.normal, aio='native'))['write_cache'] is True
    plugged = Device('d0', 'disk', 0, options={'path': image, 'read_only': False, 'write_cache': False})
    found = []
    kind.differences(plugged, spec.declared(), found)
    assert found == ['write_cache: False -> True']


def test_an_option_a_kind_does_not_compare_is_never_a_difference(tmp_path):
    image = str(tmp_path / 'd.img')
    spec = spec_from_params('disk', {'id': 'd0', 'path': image, 'read_only': True})
    found = []
    KINDS['disk'].differences(Device('d0', 'disk', 0, options={'path': image, 'write_cache': True}), spec.declared(), found)
    assert found == []  # read_only unknown (not recorded), write_cache not an option the disk kind compares


def test_how_a_cold_plugged_image_was_opened_is_not_compared(tmp_path):
    image = str(tmp_path / 'd.img')
    spec = spec_from_params('disk', {'id': 'd0', 'path': image, 'direct': False, 'aio': 'threads'})
    options = {'read_only': False, 'direct': True, 'aio': 'native'}
    for source, expected in (('cold-plugged', []), ('record', ["direct: True -> False", "aio: 'native' -> 'threads'"])):
        found = []
        KINDS['disk'].differences(Device('d0', 'disk', 0, options=dict(options, path=image), source=source), spec.declared(), found)
        assert found == expected


@pytest.mark.parametrize(
    'aio, serial, recorded',
    [
        (None, None, {'path': '/srv/d.img', 'read_only': True, 'direct': False, 'aio': None}),
        ('threads', 'S1', {'path': '/srv/d.img', 'read_only': True, 'direct': False, 'aio': 'threads', 'serial': 'S1'}),
    ],
)
def test_a_disk_records_aio_even_when_none_was_sent_and_serial_only_when_set(aio, serial, recorded):
    normal = {'path': '/srv/d.img', 'read_only': True, 'direct': False, 'aio': aio, 'serial': serial}
    assert KINDS['disk'].recorded_options(normal) == recorded
