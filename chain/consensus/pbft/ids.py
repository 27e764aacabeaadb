"""Names for the plain ints and bytes PBFT passes around, so a signature says which one it means.

They are aliases, not new types: a ``Height`` is an ``int`` at run time, and a type checker
accepts one where the other is asked for. What they buy is reading: ``dict[NodeIndex, Digest]``
says what ``dict[int, bytes]`` does not.
"""

from __future__ import annotations

from typing import TypeAlias

NodeIndex: TypeAlias = int  # a node's position in the node list in force (sealers first, then observers)
Height: TypeAlias = int  # a block number; the replica decides head + 1
View: TypeAlias = int  # a leader's term at one height; views never go down
Digest: TypeAlias = bytes  # the hash a vote is about (a proposal's header hash, an executed block's hash)
NodeId: TypeAlias = bytes  # a node's public key, as the network addresses it
