"""The JSON-RPC wire format that the server (chain.rpc) and the client SDK (chain.sdk) share.

Both sides import it, and neither imports the other: a client library must not depend on the
server package, and one module for both directions is what keeps them in agreement.

* ``views``       the FISCO BCOS 2.x JSON shapes of blocks, transactions, receipts and proofs, both
                  ways (``*_json`` to render, ``*_from_json`` to rebuild and check)
* ``json_limits`` parsing JSON from strangers with its nesting depth bounded first
"""
