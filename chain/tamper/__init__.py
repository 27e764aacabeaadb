"""Tamper evidence: change a stored block of one node and see which check catches it, and why.

A classroom exercise in the spirit of Anders Brownworth's blockchain demo, on this chain's real
data structures. The attacker has the disk of one node and edits a block in its SQLite store:

* ``forge``   — the edits an attacker can make to a stored block (a transaction, the Merkle root,
  a Checkpoint signature), each a pure function Block -> Block;
* ``checks``  — every check that can notice, run the way a node that syncs from the tampered one
  runs them (the very functions block sync uses), block by block from genesis;
* ``node_files`` — reading and overwriting a node's store on disk (a real node, or one saved from the
  simulator);
* ``exercise`` — the whole story on the simulator: build a chain, tamper with one node's copy, audit
  it, and let a lagging node try to sync from it.
"""
