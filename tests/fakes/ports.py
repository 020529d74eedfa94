"""Free loopback ports for servers a test or benchmark starts."""
from __future__ import annotations

import socket


def free_ports(n: int = 1) -> list[int]:
    """n distinct free ports (all bound at once, so the OS cannot hand out the same one twice)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
