"""Consensus: PBFT (FISCO BCOS 3.x style) as a sans-IO state machine, in chain.consensus.pbft."""
