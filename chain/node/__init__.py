"""Wiring the parts into a running node: configuration, chain builder, logging and the node process."""
