# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A StratoVirt QMP simulator: serves StratoVirt's QMP dialect on a Unix socket.

    python3 run_simulator.py --socket PATH --profile 2.1.0 --machine microvm \
        [-- -drive file=IMG,id=rootfs -device virtio-blk-device,drive=rootfs,id=rootfs ...]
    python3 run_simulator.py --socket PATH --profile 2.5.0 --machine standard \
        --root-ports 2 --guest ack [-- -drive file=IMG,id=rootfs,direct=off ...]
    python3 run_simulator.py --daemon --pidfile PIDFILE --log LOG --socket PATH ...   # returns once it listens
    python3 run_simulator.py --stop --pidfile PIDFILE                                # returns once it has gone

See docs/simulator.md. Standard library only, Python 3.8+.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Set, Union

from .cmdline import ColdPlugError, cold_plug, cold_plug_standard, iothreads_of
from .daemon import announce_ready, daemonize, running_pid, stop
from .micro import MicroVM
from .outcome import Outcome, event, fail, ok
from .profiles import PROFILES, static_replies
from .resources import GUEST_BALLOON_MODELS, STUBS, Resources
from .server import Faults, Server
from .standard import GUEST_MODELS, StandardVM

LAUNCHER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'run_simulator.py')

MACHINES = {'microvm': 'microvm', 'standard': 'standard', 'q35': 'standard'}  # q35 is StratoVirt's name of standard


class Simulator:
    """Routes decoded commands to the machine model."""

    def __init__(self, profile, machine, resources: Resources) -> None:
        self.profile = profile
        self.machine = machine
        self.static = static_replies(profile, threading.get_native_id())
        self.static.update(getattr(machine, 'static_overrides', {}))
        self.resources = resources

    def dispatch(self, name: str, args: dict) -> Outcome:
        vm = self.machine
        handlers = {
            'blockdev-add': vm.blockdev_add,
            'blockdev-del': vm.blockdev_del,
            'netdev_add': vm.netdev_add,
            'netdev_del': vm.netdev_del,
            'device_add': vm.device_add,
            'device_del': vm.device_del,
        }
        if name in handlers:
            return handlers[name](args)
        if name == 'qmp_capabilities':
            return ok()
        if name == 'query-status':
            return ok(vm.query_status())
        if name in ('stop', 'cont'):
            vm.running = name == 'cont'
            return ok(events=[event('STOP' if name == 'stop' else 'RESUME', {})])
        if name == 'quit':
            return Outcome(value={}, events=[event('SHUTDOWN', {'guest': False, 'reason': 'host-qmp-quit'})], shutdown=True)
        resources = {
            'query-cpus': self.resources.query_cpus,
            'query-hotpluggable-cpus': self.resources.query_hotpluggable_cpus,
            'query-balloon': self.resources.query_balloon,
            'query_balloon': self.resources.query_balloon,
            'query-iothreads': self.resources.query_iothreads,
        }
        if name in resources:
            return resources[name]()
        if name == 'balloon':
            return self.resources.balloon(args)
        if name in STUBS:
            return ok(STUBS[name])
        if name == 'getfd':
            return fail('Invalid SCM message')
        if name in self.static:
            return ok(self.static[name])
        return fail('simulator: %s is not simulated' % name)


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Serve StratoVirt QMP on a Unix socket, as StratoVirt does.')
    parser.add_argument('--socket', help='path of the QMP Unix socket to create (required but with --stop)')
    parser.add_argument('--profile', choices=sorted(PROFILES), default='2.1.0', help='StratoVirt release to play')
    parser.add_argument('--machine', choices=sorted(MACHINES), default='microvm', help='machine type (q35 = standard)')
    parser.add_argument(
        '--root-ports', type=int, default=0, metavar='N', help='standard VM: add root ports pcie.1 .. pcie.N (besides those of the command line)'
    )
    parser.add_argument('--guest', choices=GUEST_MODELS, default='ack', help='standard VM: how the guest answers an unplug request (ack, deaf, blink)')
    parser.add_argument(
        '--guest-ack-delay', type=float, default=0.2, metavar='SECONDS', help='standard VM, ack guest: time from device_del to the slot power-off'
    )
    parser.add_argument(
        '--guest-balloon',
        choices=GUEST_BALLOON_MODELS,
        default='absent',
        help="the guest's balloon driver: absent (as recorded: balloon is refused) or active (as StratoVirt's source reads)",
    )
    parser.add_argument('--pidfile', help='write the process id here once the socket listens')
    parser.add_argument('--daemon', action='store_true', help='run in the background; return once the socket listens (needs --pidfile)')
    parser.add_argument('--log', help='with --daemon: where its output goes (default: PIDFILE.log)')
    parser.add_argument('--stop', action='store_true', help='stop the simulator of --pidfile (SIGTERM, then SIGKILL) and return once it has gone')
    parser.add_argument('--record', help='append every batch received and every line sent to this JSONL file')
    parser.add_argument(
        '--fault-drop-after',
        type=int,
        metavar='N',
        help='once: after N answered commands on a connection, read the next one and drop the connection unanswered',
    )
    parser.add_argument(
        '--fault-drop-reply-on',
        metavar='COMMAND',
        help='once: act on the first COMMAND received, then drop the connection before its reply (a client killed once its command reached the VM)',
    )
    parser.add_argument('--fault-delay', type=float, default=0.0, metavar='SECONDS', help='delay every reply')
    parser.add_argument('--fault-withhold-event', action='append', default=[], metavar='NAME', help='never send events of this name (repeatable)')
    parser.add_argument(
        '--fault-fail', action='append', default=[], metavar='COMMAND[=DESC]', help='answer this command with a GenericError without acting (repeatable)'
    )
    parser.add_argument(
        '--accept-delay', type=float, default=0.0, metavar='SECONDS', help='listen at once but greet clients only after this delay, like a VM still starting'
    )
    parser.add_argument('cmdline', nargs=argparse.REMAINDER, help='after --: StratoVirt -drive/-netdev/-device options of cold-plugged devices')
    args = parser.parse_args(argv)
    if (args.daemon or args.stop) and not args.pidfile:
        parser.error('--daemon and --stop need --pidfile')
    if not args.stop and not args.socket:
        parser.error('--socket is required')
    if args.cmdline and args.cmdline[0] == '--':
        args.cmdline = args.cmdline[1:]
    return args


def faults_from(args) -> Faults:
    fail_commands = {}
    for spec in args.fault_fail:
        name, dummy, desc = spec.partition('=')
        fail_commands[name] = desc or 'injected failure'
    return Faults(
        drop_after=args.fault_drop_after,
        delay=args.fault_delay,
        withhold_events=args.fault_withhold_event,
        fail_commands=fail_commands,
        accept_delay=args.accept_delay,
        drop_reply_on=args.fault_drop_reply_on,
    )


def with_root_ports_on_command_line(argv, count: int, cmdline):
    """``--root-ports N`` as the ``-device pcie-root-port`` options StratoVirt would be started with.

    Tools that inspect the VM process (the collection does) read root ports from its command line, as
    with StratoVirt, so the flag is turned into real options and the simulator starts again with them.
    """
    existing: Set[str] = set()
    for value in cmdline:
        if value.startswith('pcie-root-port,'):
            existing.update(part[3:] for part in value.split(',') if part.startswith('id='))
    ports = []
    for number in range(1, count + 1):
        if 'pcie.%d' % number not in existing:
            ports += ['-device', 'pcie-root-port,id=pcie.%d,port=0x%x,bus=pcie.0,addr=0x%x' % (number, number, 2 + number)]
    flag = argv.index('--root-ports')
    rest = argv[:flag] + argv[flag + 2 :]
    if '--' in rest:
        split = rest.index('--')
        return rest[: split + 1] + ports + rest[split + 1 :]
    return rest + ['--'] + ports


MONITOR_OPTIONS = ('-qmp', '--qmp', '-mon', '--mon', '-chardev', '--chardev')


def with_monitor_on_command_line(argv, socket_path: str, cmdline):
    """``-name`` and ``-qmp unix:SOCKET,server,nowait`` added to a command line that has no monitor option.

    A StratoVirt VM always carries its QMP monitor (and usually its name) on its command line, and tools that list
    a host's VMs (the collection's stratovirt_vms_info) find VMs by it; a simulator started by hand with ``--socket``
    alone would otherwise not look like one. Returns None when the command line already names a monitor.
    """
    if any(value in MONITOR_OPTIONS for value in cmdline):
        return None
    added = [] if any(value in ('-name', '--name') for value in cmdline) else ['-name', os.path.basename(socket_path).rsplit('.sock', 1)[0]]
    added += ['-qmp', 'unix:%s,server,nowait' % os.path.abspath(socket_path)]
    if '--' in argv:
        split = argv.index('--')
        return argv[: split + 1] + added + argv[split + 1 :]
    return argv + ['--'] + added


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.stop:
        stopped = stop(args.pidfile)
        sys.stdout.write('stopped %d\n' % stopped if stopped is not None else 'not running\n')
        return 0
    if args.daemon:
        already = running_pid(args.pidfile)
        if already is not None:
            sys.stdout.write('running %d\n' % already)
            return 0
        daemonize(args.log or args.pidfile + '.log')
        argv = [value for value in argv if value != '--daemon']
    # The simulator starts again (same pid) with the options StratoVirt's command line would carry: tools read them there.
    as_stratovirt = argv
    if args.root_ports and '--root-ports' in argv:
        as_stratovirt = with_root_ports_on_command_line(as_stratovirt, args.root_ports, args.cmdline)
    as_stratovirt = with_monitor_on_command_line(as_stratovirt, args.socket, args.cmdline) or as_stratovirt
    if as_stratovirt is not argv:
        os.execv(sys.executable, [sys.executable, LAUNCHER] + as_stratovirt)
    profile = PROFILES[args.profile]
    machine: Union[StandardVM, MicroVM]
    if MACHINES[args.machine] == 'standard':
        machine = StandardVM(profile, args.guest, args.guest_ack_delay)
    else:
        machine = MicroVM(profile)
    try:
        machine.iothreads = iothreads_of(args.cmdline)
        if isinstance(machine, StandardVM):
            cold_plug_standard(machine, args.cmdline, args.root_ports)
        else:
            cold_plug(machine, args.cmdline)
    except ColdPlugError as exc:
        machine.close()
        sys.stderr.write('stratovirt_sim: %s\n' % exc)
        return 2
    resources = Resources(args.cmdline, not isinstance(machine, StandardVM), threading.get_native_id(), profile.release != '2.1.0', args.guest_balloon)
    server = Server(args.socket, profile, Simulator(profile, machine, resources).dispatch, faults_from(args), args.record)
    if isinstance(machine, StandardVM):
        server.timers = machine
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    server.bind()
    if args.pidfile:
        # Renamed into place: once it exists it is complete and closed (not an open file of the "VM").
        with open(args.pidfile + '.tmp', 'w', encoding='utf-8') as pidfile:
            pidfile.write('%d\n' % os.getpid())
        os.replace(args.pidfile + '.tmp', args.pidfile)
    announce_ready()
    try:
        server.serve_forever()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        machine.close()
        server.remove_socket()
    return 0


if __name__ == '__main__':
    sys.exit(main())
