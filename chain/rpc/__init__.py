"""JSON-RPC: what clients (SDK, console, curl) talk to.

``api`` fixes what the server needs from a node (``NodeApi``); ``methods`` is the method table, one
small handler per FISCO BCOS method; ``server`` is the aiohttp transport around it.
"""
from chain.rpc import log_methods as _log_methods  # noqa: E402,F401  registers getLogs, newFilter... (one table)
