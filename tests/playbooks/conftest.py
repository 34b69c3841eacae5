# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run real ``ansible-playbook`` against simulated VMs and read back what the simulator received.

The tests run with PYTHONPATH set to the directory that holds ``ansible_collections/`` (see the
README's test command); the playbooks find the collection through the same directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import List, NamedTuple, Optional

import pytest

import ansible_collections.stratovirt.qmp as collection_package

# ansible-core 2.19 routes the "json" stdout callback to ansible.posix, which is not installed:
# a stand-in with the same output shape lives next to this file.
CALLBACK_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback_plugins')
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
RUN_TIMEOUT = 120


def collections_root() -> str:
    """The directory holding ``ansible_collections/``, as the test process imports the collection from it."""
    # Not realpath: the collection is usually a symlink into the work tree, and Ansible must see it by its
    # ansible_collections/stratovirt/qmp name.
    package_dir = list(collection_package.__path__)[0]
    return os.path.dirname(os.path.dirname(os.path.dirname(package_dir)))


class PlaybookRun(NamedTuple):
    """One ``ansible-playbook`` run: its exit code, localhost's result of each task in order, its output."""

    rc: int
    results: List[dict]
    stdout: str
    stderr: str


def run_playbook(directory: str, tasks: List[dict], check: bool = False, diff: bool = False, name: str = 'playbook') -> PlaybookRun:
    """Write ``tasks`` as a one-play playbook for localhost in ``directory`` and run it."""
    play = {
        'name': name,
        'hosts': 'localhost',
        'gather_facts': False,
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable},
        'tasks': tasks,
    }
    playbook_path = os.path.join(directory, '%s.yml' % name)
    with open(playbook_path, 'w', encoding='utf-8') as stream:
        # JSON is YAML: no quoting surprises for values like "0x1".
        json.dump([play], stream, indent=2)
    env = dict(os.environ)
    env.update(
        ANSIBLE_STDOUT_CALLBACK='json',
        ANSIBLE_CALLBACK_PLUGINS=CALLBACK_PLUGINS,
        ANSIBLE_COLLECTIONS_PATH=collections_root(),
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_HOST_KEY_CHECKING='False',
        ANSIBLE_LOCAL_TEMP=os.path.join(directory, 'ansible-tmp'),
        ANSIBLE_RETRY_FILES_ENABLED='False',
    )
    argv = [ANSIBLE_PLAYBOOK, '-i', 'localhost,', playbook_path]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    completed = subprocess.run(argv, cwd=directory, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    try:
        document = json.loads(completed.stdout)
    except ValueError:
        pytest.fail('ansible-playbook printed no JSON (rc %d)\nstdout:\n%s\nstderr:\n%s' % (completed.returncode, completed.stdout, completed.stderr))
    results = [task['hosts']['localhost'] for task in document['plays'][0]['tasks'] if 'localhost' in task['hosts']]
    return PlaybookRun(completed.returncode, results, completed.stdout, completed.stderr)


@pytest.fixture
def playbook(tmp_path):
    """``playbook(tasks, check=False, diff=False)`` -> :class:`PlaybookRun`; each call writes its own playbook file."""
    counter = iter(range(1000))

    def run(tasks: List[dict], check: bool = False, diff: bool = False) -> PlaybookRun:
        return run_playbook(str(tmp_path), tasks, check=check, diff=diff, name='playbook%d' % next(counter))

    return run


def record_option(socket_path: str) -> List[str]:
    """Simulator options that log every batch received on ``socket_path`` to :func:`record_file`."""
    return ['--record', record_file(socket_path)]


def record_file(socket_path: str) -> str:
    """Where the simulator serving ``socket_path`` logs what it receives."""
    return socket_path + '.qmp.jsonl'


def received(socket_path: str) -> List[str]:
    """Every batch the simulator at ``socket_path`` received, exact text, in order."""
    try:
        with open(record_file(socket_path), encoding='utf-8') as record:
            lines = [json.loads(line) for line in record if line.strip()]
    except FileNotFoundError:
        return []
    return [line['received'] for line in lines if 'received' in line]


# What stratovirt_info and a host listing (stratovirt_vms_info) send: another suite running at the same time may send
# them to any VM of the host.
READ_ONLY_QUERIES = ('query-version', 'query-status', 'query-cpus', 'query-hotpluggable-cpus', 'query-balloon', 'query-iothreads')


def mutating_received(socket_path: str) -> List[str]:
    """The batches received except the read-only queries (:data:`READ_ONLY_QUERIES`)."""
    return [text for text in received(socket_path) if _execute_of(text) not in READ_ONLY_QUERIES]


def _execute_of(text: str) -> Optional[str]:
    try:
        return json.loads(text).get('execute')
    except (ValueError, AttributeError):
        return None


@pytest.fixture
def recorded_vm(start_vm, tmp_path):
    """``recorded_vm(profile, options=[...], cmdline=[...], name=None)`` -> a started VM that logs what it receives.

    The same ``name`` gives the same socket path (and record file), as a restarted VM has.
    """
    numbers = iter(range(1000))

    def start(profile='2.1.0', options=None, cmdline=None, name=None):
        name = name or 'rec%d.sock' % next(numbers)
        socket_path = str(tmp_path / name)
        return start_vm(profile=profile, options=record_option(socket_path) + list(options or []), cmdline=cmdline, name=name)

    return start
