"""The Python SDK: talk to a node over JSON-RPC, sign and send transactions, use contracts.

    from chain.sdk.client import SyncClient
    from chain.sdk.account import Account

    client = SyncClient("http://127.0.0.1:20200", get_suite("sm"))
    account = Account.from_key_file("key.pem")
    receipt = client.send_and_wait(account, to=address, data=payload)
"""
