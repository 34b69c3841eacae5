# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The StratoVirt releases and machine types the suites run against: one list for every suite.

Each release is a profile of the simulator (roles/simulated_vm/files/stratovirt_sim/profiles.py). Tests import it
as ``tested_releases`` (tests/ is on sys.path, as the directory of the root conftest.py), and write a
release-dependent expectation as a comparison, ``release(profile) >= (2, 5)``, not as one profile's name.
"""

from __future__ import annotations

from typing import Tuple

PROFILES = ['2.1.0', '2.2.0', '2.3.0', '2.4.0', '2.5.0']  # oldest first
# The oldest and the newest: the full matrix of the expensive suites (the playbook suites, each case an
# ansible-playbook run). The middle releases are covered there by a representative subset (tests/playbooks/test_info.py,
# the fleet of tests/playbooks/test_rollout.py), and everywhere by the unit tests and the replay of their recordings
# (docs/testing.md, "Releases").
EDGE_PROFILES = [PROFILES[0], PROFILES[-1]]
MACHINES = ['micro', 'standard']


def release(profile: str) -> Tuple[int, ...]:
    """``'2.5.0'`` -> ``(2, 5, 0)``, comparable with ``(2, 5)``."""
    return tuple(int(part) for part in profile.split('.'))
