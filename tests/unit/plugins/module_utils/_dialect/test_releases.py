# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dialect owns every StratoVirt reply: per-release classifiers, newer releases, and a guard against copies."""

from __future__ import annotations

import ast
import os
import re

import pytest

from ansible_collections.stratovirt.qmp.plugins import module_utils
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.dialect import (
    MACHINE_MICRO,
    MACHINE_STANDARD,
    NEWEST_KNOWN,
    Dialect,
    detect,
)
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.releases import BEHAVIOURS, REPLIES, templates

PLUGINS = os.path.dirname(os.path.abspath(list(module_utils.__path__)[0]))
# The dialect: the one folder that may hold StratoVirt's reply texts.
DIALECT_FOLDER = os.path.join('module_utils', '_dialect')
MIN_FIXED = 8


def reply_patterns():
    """Every reply template the dialect knows, as a pattern that also finds it %-formatted inside a longer text."""
    patterns = {}
    for meanings in REPLIES.values():
        for changes in meanings.values():
            for dummy_since, texts in changes:
                for text in texts:
                    fixed = re.split(r'\{\w+\}', text)
                    assert len(''.join(fixed)) >= MIN_FIXED, text
                    patterns[text] = re.compile('.*'.join(re.escape(part) for part in fixed), re.DOTALL)
    return patterns


def offences(source: str, patterns) -> list:
    """String literals holding a reply text, and comparisons of a reply's ``desc``, in one file's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.extend('reply text %r at line %d' % (text, node.lineno) for text, pattern in patterns.items() if pattern.search(node.value))
        elif isinstance(node, ast.Compare):
            operands = [node.left] + list(node.comparators)
            if any(isinstance(operand, ast.Attribute) and operand.attr == 'desc' for operand in operands):
                found.append('comparison of .desc at line %d' % node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == 'desc'
        ):
            found.append('.desc.%s() at line %d' % (node.func.attr, node.lineno))
    return found


def plugin_sources(root: str = PLUGINS):
    """(path relative to ``root``, source) of every Python file under ``root`` (sub-folders included) but the dialect's."""
    for directory, dummy_dirs, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(directory, name)
            if name.endswith('.py') and os.path.dirname(os.path.relpath(path, root)) != DIALECT_FOLDER:
                with open(path, encoding='utf-8') as handle:
                    yield os.path.relpath(path, root), handle.read()


def reply_texts_under(root: str = PLUGINS) -> dict:
    patterns = reply_patterns()
    found = {path: offences(source, patterns) for path, source in plugin_sources(root)}
    return {path: what for path, what in found.items() if what}


def test_no_reply_text_outside_the_dialect():
    assert reply_texts_under() == {}


def test_the_guard_walks_every_package(tmp_path):
    planted = "if exc.desc == 'Device %s not found' % device_id:\n    pass\n"
    for folder in (os.path.join('module_utils', '_converge'), os.path.join('module_utils', '_device', 'kinds'), DIALECT_FOLDER, 'modules'):
        os.makedirs(str(tmp_path / folder))
        (tmp_path / folder / 'planted.py').write_text(planted)
    assert sorted(reply_texts_under(str(tmp_path))) == [
        os.path.join('module_utils', '_converge', 'planted.py'),
        os.path.join('module_utils', '_device', 'kinds', 'planted.py'),
        os.path.join('modules', 'planted.py'),
    ]


@pytest.mark.parametrize(
    'source',
    [
        "if exc.desc == 'Device %s not found' % device_id:\n    pass\n",
        "if exc.desc.startswith('x'):\n    pass\n",
        "ok = desc in ('a', 'b') or self.desc != 'c'\n",
        "TEXT = 'Guest is still on the fly of another (un)plugging'\n",
        "message = ('%s: failed to update ' 'config.' % device_id)\n",
    ],
)
def test_the_guard_sees_a_copied_reply(source):
    assert offences(source, reply_patterns())


LATER = (NEWEST_KNOWN[0], NEWEST_KNOWN[1] + 1, 0)


@pytest.mark.parametrize('machine', [MACHINE_MICRO, MACHINE_STANDARD])
def test_a_newer_release_is_driven_with_the_newest_known_traits(machine):
    newest, later = Dialect(NEWEST_KNOWN, machine), Dialect(LATER, machine)
    for name in BEHAVIOURS:
        assert getattr(later, name) == getattr(newest, name), name
    for meaning in REPLIES[machine]:
        assert templates(machine, meaning, LATER) == templates(machine, meaning, NEWEST_KNOWN), meaning
    assert later.micro_disk_device('d', 1) == newest.micro_disk_device('d', 1)
    assert later.is_absent_reply(*ABSENT[machine]) and later.newer_than_known and not newest.newer_than_known
    assert newest.release_warning is None
    assert later.release_warning.startswith('StratoVirt %d.%d.0 is newer than %d.%d.%d' % (LATER[:2] + NEWEST_KNOWN))


ABSENT = {MACHINE_MICRO: ('Device d not found', 'd'), MACHINE_STANDARD: ('Can not find parent device from pci bus', 'd')}


# (release, machine, classifier, reply, arguments, meant): the releases each text was introduced by.
CLASSIFIED = [
    ((2, 1, 0), MACHINE_MICRO, 'is_absent_reply', 'Device d not found', ('d',), True),
    ((2, 1, 0), MACHINE_MICRO, 'is_absent_reply', 'Device e not found', ('d',), False),
    ((2, 1, 0), MACHINE_STANDARD, 'is_absent_reply', 'Failed to remove device: id d not found', ('d',), True),
    ((2, 1, 0), MACHINE_STANDARD, 'is_absent_reply', 'Can not find parent device from pci bus', ('d',), False),
    ((2, 3, 0), MACHINE_STANDARD, 'is_absent_reply', 'Can not find parent device from pci bus', ('d',), True),
    ((2, 5, 0), MACHINE_STANDARD, 'is_absent_reply', 'Failed to detach device: id d not found', ('d',), True),
    ((2, 5, 0), MACHINE_MICRO, 'is_backend_present', 'd is already registered.', ('d',), True),
    ((2, 1, 0), MACHINE_STANDARD, 'is_backend_present', 'Netdev "d" has been added', ('d',), True),
    (
        (2, 5, 0),
        MACHINE_STANDARD,
        'is_backend_present',
        'Failed to add drive /i.img, file can only be shared with read_only. Is it used more than once or another process using the same file?',
        ('d',),
        True,
    ),
    ((2, 1, 0), MACHINE_MICRO, 'is_place_taken', 'The slot 1 is occupied already.', (1,), True),
    ((2, 1, 0), MACHINE_MICRO, 'is_place_taken', 'The slot 1 is occupied already.', (2,), False),
    ((2, 1, 0), MACHINE_STANDARD, 'is_place_taken', 'Failed to add virtio pci blk: Failed to add virtio pci block device', (), True),
    ((2, 5, 0), MACHINE_STANDARD, 'is_already_plugged', 'Device id d existed', ('d',), True),
    ((2, 5, 0), MACHINE_MICRO, 'is_already_plugged', 'Device id d existed', ('d',), False),
    ((2, 1, 0), MACHINE_STANDARD, 'is_unplug_busy', 'Guest is still on the fly of another (un)plugging', (), False),
    ((2, 2, 0), MACHINE_STANDARD, 'is_unplug_busy', 'Guest is still on the fly of another (un)plugging', (), True),
    ((2, 1, 0), MACHINE_MICRO, 'is_nic_unplug_defect', 'n: failed to update config.', ('n',), False),
    ((2, 5, 0), MACHINE_MICRO, 'is_nic_unplug_defect', 'n: failed to update config.', ('n',), True),
    ((2, 5, 0), MACHINE_STANDARD, 'is_nic_unplug_defect', 'n: failed to update config.', ('n',), False),
    ((2, 1, 0), MACHINE_STANDARD, 'is_backend_absent', 'Drive d not found', ('d',), True),
    ((2, 1, 0), MACHINE_STANDARD, 'is_backend_absent', 'Drive d not found.', ('d',), False),
    ((2, 5, 0), MACHINE_MICRO, 'is_backend_del_unsupported', 'netdev_del not support yet', (), True),
]


@pytest.mark.parametrize('release, machine, classifier, reply, arguments, meant', CLASSIFIED)
def test_classifiers_follow_the_release_that_introduced_each_text(release, machine, classifier, reply, arguments, meant):
    assert getattr(Dialect(release, machine), classifier)(reply, *arguments) is meant


class Answering:
    def __init__(self, answers):
        self.answers = answers

    def execute(self, name, arguments=None):
        return self.answers[name]


def test_detect_takes_a_newer_release_as_it_is():
    client = Answering({'query-version': {'package': 'StratoVirt-%d.%d.%d' % LATER}})
    dialect = detect(client, MACHINE_MICRO)
    assert dialect.release == LATER and dialect.release_text == '%d.%d.%d' % LATER and dialect.release_warning
