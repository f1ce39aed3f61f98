#!/usr/bin/env python3
"""Echo every Ethernet frame received on an interface back out of it.

The peer for virtio-net loop tests: the test guest sends frames to its own
MAC through the tap; this sends each one back, so the guest receives what it
sent. Frames this socket itself transmits come back to it as
PACKET_OUTGOING and are skipped, or it would echo forever.

Usage: frame_echo.py IFNAME READY_FILE
"""
import socket
import sys

ETH_P_ALL = 0x0003


def main():
    ifname, ready = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    with open(ready, "w") as f:
        f.write("ready\n")
    echoed = 0
    while True:
        data, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        s.send(data)
        echoed += 1


if __name__ == "__main__":
    main()
