# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The packages of module_utils import one way (docs/architecture.md): transport at the bottom, runners at the top.

Read from the sources as Ansible reads them to build a module's payload: every import, wherever it sits (inside a
function or under TYPE_CHECKING too), since each one puts the imported file into the payload.
"""

from __future__ import annotations

import ast
import os
from typing import Dict, List, Set

import pytest

from ansible_collections.stratovirt.qmp.plugins import module_utils

MODULE_UTILS = list(module_utils.__path__)[0]
MODULES_DIR = os.path.join(os.path.dirname(MODULE_UTILS), 'modules')
COLLECTION_PREFIX = 'ansible_collections.stratovirt.qmp.plugins.module_utils.'

# Bottom to top: a module may import its own package and the ones below it, never one above.
LAYERS = ('_collection_error', '_qmp', '_dialect', '_host', '_device', '_converge', '_report', '_runners')
# The only package that may import Ansible.
ANSIBLE_PACKAGE = '_runners'
# What changes a VM: the read-only modules must never carry it.
WRITE_PATH = frozenset(('_converge.applier', '_converge.apply_session', '_converge.planner', '_converge.unplug', '_converge.vm', '_converge.host_vms'))
READ_ONLY_MODULES = ('stratovirt_info', 'stratovirt_vms_info')


def read_tree(root: str) -> Dict[str, str]:
    """{dotted name relative to module_utils: source} of every Python file under ``root``."""
    sources = {}
    for directory, dummy_dirs, files in os.walk(root):
        for name in files:
            if name.endswith('.py') and name != '__init__.py':
                path = os.path.join(directory, name)
                with open(path, encoding='utf-8') as handle:
                    sources[os.path.relpath(path, root)[:-3].replace(os.sep, '.')] = handle.read()
    return sources


def imports_of(module: str, source: str, known) -> List[str]:
    """The modules ``module`` imports: collection ones as dotted names relative to module_utils, others as written."""
    found = []
    package = module.split('.')[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else list(package)
                target = '.'.join(base + (node.module.split('.') if node.module else []))
            elif (node.module or '').startswith(COLLECTION_PREFIX):
                target = node.module[len(COLLECTION_PREFIX) :]
            else:
                found.append(node.module or '')
                continue
            for alias in node.names:
                submodule = '%s.%s' % (target, alias.name) if target else alias.name
                found.append(submodule if submodule in known else target)
    return found


def import_graph(sources: Dict[str, str]) -> Dict[str, List[str]]:
    return {module: imports_of(module, source, sources) for module, source in sources.items()}


def layer_of(module: str) -> str:
    return module.split('.')[0]


def layering_offences(graph: Dict[str, List[str]]) -> List[str]:
    found = []
    for module, imported in sorted(graph.items()):
        rank = LAYERS.index(layer_of(module)) if layer_of(module) in LAYERS else None
        if rank is None:
            found.append('%s: in no layer (add its package to LAYERS and to docs/architecture.md)' % module)
            continue
        for target in imported:
            if target == 'ansible' or target.startswith('ansible.'):
                if layer_of(module) != ANSIBLE_PACKAGE:
                    found.append('%s imports %s: only %s/ imports Ansible' % (module, target, ANSIBLE_PACKAGE))
            elif target in graph and LAYERS.index(layer_of(target)) > rank:
                found.append('%s imports %s, a layer above it' % (module, target))
    return found


def closure(graph: Dict[str, List[str]], start: List[str]) -> Set[str]:
    seen: Set[str] = set()
    todo = list(start)
    while todo:
        module = todo.pop()
        if module in graph and module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def module_entry_imports(name: str, sources: Dict[str, str]) -> List[str]:
    with open(os.path.join(MODULES_DIR, name + '.py'), encoding='utf-8') as handle:
        return imports_of('', handle.read(), sources)


def cycles(graph: Dict[str, List[str]]) -> List[List[str]]:
    found = []
    state: Dict[str, int] = {}
    path: List[str] = []

    def visit(module):
        state[module] = 1
        path.append(module)
        for target in graph[module]:
            if target not in graph:
                continue
            if state.get(target) == 1:
                found.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


SOURCES = read_tree(MODULE_UTILS)


def test_every_module_sits_in_a_layer_and_imports_only_downwards():
    assert layering_offences(import_graph(SOURCES)) == []


def test_the_transport_imports_only_the_standard_library_and_the_error_root():
    graph = import_graph(SOURCES)
    outside = {
        module: sorted(target for target in imported if target in graph and layer_of(target) not in ('_qmp', '_collection_error'))
        for module, imported in graph.items()
        if layer_of(module) == '_qmp'
    }
    assert {module: targets for module, targets in outside.items() if targets} == {}


@pytest.mark.parametrize('name', READ_ONLY_MODULES)
def test_a_read_only_module_never_carries_the_write_path(name):
    graph = import_graph(SOURCES)
    carried = closure(graph, module_entry_imports(name, SOURCES))
    assert carried, 'the module imports its runner from module_utils'
    assert sorted(carried & WRITE_PATH) == []


def test_no_import_cycle():
    assert cycles(import_graph(SOURCES)) == []


def test_package_init_files_are_empty():
    for directory, dummy_dirs, files in os.walk(MODULE_UTILS):
        if directory != MODULE_UTILS and '__pycache__' not in directory:
            assert '__init__.py' in files, directory
            assert os.path.getsize(os.path.join(directory, '__init__.py')) == 0, directory


# The checks above, shown to fail on planted violations.


def planted(module: str, line: str) -> Dict[str, str]:
    sources = dict(SOURCES)
    sources[module] = sources[module] + '\n' + line + '\n'
    return sources


@pytest.mark.parametrize(
    'module, line',
    [
        ('_qmp.lock', 'from .._converge.session_options import lock_timeout'),
        ('_dialect.dialect', 'from .._host.process import peer_pid'),
        ('_device.kinds.disk', 'from ..._converge import planner'),
        ('_host.vms', 'from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.session_options import check_seconds'),
    ],
)
def test_an_upward_import_is_found(module, line):
    assert layering_offences(import_graph(planted(module, line))) != []


def test_ansible_outside_the_runners_is_found():
    offences = layering_offences(import_graph(planted('_device.model', 'from ansible.module_utils.basic import AnsibleModule')))
    assert offences == ['_device.model imports ansible.module_utils.basic: only _runners/ imports Ansible']


@pytest.mark.parametrize('module', ['_report.vm_info', '_converge.session_options', '_device.state'])
def test_a_read_only_module_reaching_the_applier_is_found(module):
    sources = planted(module, 'def later():\n    from %s_converge.applier import Applier' % ('.' * module.count('.') + '.'))
    graph = import_graph(sources)
    assert '_converge.applier' in closure(graph, module_entry_imports('stratovirt_info', sources))


def test_a_cycle_is_found():
    assert cycles(import_graph(planted('_qmp.errors', 'from .client import QMPClient'))) != []
