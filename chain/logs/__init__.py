"""Event logs: the one layer that JSON-RPC, the web3 dialect and the channel protocol share.

Where things are (each module's docstring has the rules):

* ``chain.ledger.bloom``     (below, with the store) 2048-bit logsBloom over the suite hash:
                    ``receipt_bloom``, ``block_bloom``, ``may_match``
* ``chain.ledger.log_index`` (below, with the store) the SQLite tables ``log_index`` and
                    ``block_blooms``, written by ``Store.commit_block``
* ``query``         ``LogFilter``, ``filter_from_json``, ``get_logs(store, flt)`` (FISCO 3.x semantics,
                    bounded), ``match_block``, ``log_json``, ``LogQueryError``
* ``filters``       ``FilterRegistry``: newFilter / newBlockFilter / newPendingTransactionFilter,
                    ``changes`` (getFilterChanges), ``logs`` (getFilterLogs), ``uninstall``, expiry
* ``subscriptions`` ``SubscriptionHub``: ``subscribe_blocks``/``subscribe_logs`` → ``Subscription``
                    (``take()``, ``notify`` callback, ``closed``/``close_reason``), ``publish`` on commit,
                    bounded queues that drop a slow client
* ``service``       ``LogService(store, suite)``: one registry and one hub per node (``Node.log_service``,
                    fed by ``on_commit``); ``chain.rpc.log_methods.service_of(ctx)`` finds it

How another transport reuses it (e.g. web3's eth_getLogs / eth_newFilter / eth_subscribe, or the
channel protocol's event push)::

    service = node.log_service                      # or service_of(rpc_context)
    flt = filter_from_json(params)                  # LogQueryError -> the transport's "invalid params"
    logs = [log_json(m) for m in service.get_logs(flt)]
    fid = service.filters.new_filter(flt); service.filters.changes(fid)
    sub = service.hub.subscribe_logs(flt, notify=wake_my_writer)   # then sub.take() when woken
    service.hub.unsubscribe(sub.id)                 # when the client goes away

``MatchedLog`` carries the raw values (log, block number and hash, transaction hash and index, log
index), so a transport with other JSON (integers in 3.x, Ethereum's ``logIndex`` within the block)
builds its own shape from it.
"""
