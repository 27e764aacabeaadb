"""The real transport between nodes: TCP + mutual TLS links, framing, hello and peer admission.

The simulator never imports this package; it moves the very same message bytes through a virtual
network instead.
"""
