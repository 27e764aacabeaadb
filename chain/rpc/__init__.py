"""JSON-RPC: what clients (SDK, console, curl) talk to.

``api`` fixes what the server needs from a node (``NodeApi``); ``methods`` is the method table, one
small handler per FISCO BCOS method; ``server`` is the aiohttp transport around it.
"""
