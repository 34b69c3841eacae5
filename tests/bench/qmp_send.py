# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What operators script today, one QMP command per call: ``python3 qmp_send.py SOCKET JSON``.

Reads the greeting, sends the command, prints the reply (events skipped); exit 1 on an error reply.
Used by the fleet benchmark as the baseline of one ansible.builtin.command task per QMP command.
"""

import json
import socket
import sys


def main(socket_path, command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(socket_path)
        reader = conn.makefile('rb')
        reader.readline()
        conn.sendall(command.encode() + b'\n')
        while True:
            reply = json.loads(reader.readline())
            if 'event' not in reply:
                break
    print(json.dumps(reply))
    return 1 if 'error' in reply else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
