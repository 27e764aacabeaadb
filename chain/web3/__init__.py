"""The web3 endpoint: Ethereum JSON-RPC (web3.py, eth-account, Ethereum tools) on its own port.

* ``server``   aiohttp app: POST and WebSocket (``eth_subscribe``) on one port; refuses sm chains
* ``methods``  the ``@method("eth_...")`` table over the node's store, pool and ``chain.logs``
* ``views``    Ethereum's JSON shapes for blocks, transactions, receipts, logs
* ``estimate`` one EVM message on the head state (eth_call, eth_estimateGas)

Ethereum transactions themselves are ``chain.ledger.eth_transaction``; their pool rules
``chain.txpool.eth_rules``. See docs/web3.md.
"""
