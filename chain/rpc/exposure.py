"""Whether JSON-RPC is reachable from other machines, and what to say when it is.

The JSON-RPC server has no authentication (neither has FISCO BCOS's, whose ``jsonrpc_listen_ip``
defaults to 127.0.0.1 "for security"): whoever reaches the port can read the whole chain and fill
the transaction pool. Listening beyond loopback is allowed, but never silently.
"""

from __future__ import annotations

import ipaddress


def rpc_exposed(host: str) -> bool:
    """Whether a server listening on host can be reached from other machines (anything but loopback)."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name or a wildcard: it may be reachable from anywhere


def exposure_warning(host: str) -> str | None:
    """The warning to give when JSON-RPC listens on host, or None on loopback."""
    if not rpc_exposed(host):
        return None
    return (f"JSON-RPC listens on {host}, beyond loopback: it has no authentication, so anyone who can "
            f"reach that address can read the chain and submit transactions (firewall it, or use --rpc-ip 127.0.0.1)")
