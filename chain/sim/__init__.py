"""A deterministic discrete-event simulator that drives real replicas over a virtual network.

``Simulation(SimConfig(...))`` builds n nodes (each with its own in-memory Store, TxPool and PBFT
Replica), a seeded network with latency, loss, duplication and partitions, and clients that submit
transactions. The same seed gives the same run and the same trace, byte for byte.
"""

from chain.sim.runner import SimConfig, Simulation

__all__ = ["SimConfig", "Simulation"]
