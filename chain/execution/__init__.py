"""Applying blocks to state: the executor, the EVM bridge and the system contracts."""
