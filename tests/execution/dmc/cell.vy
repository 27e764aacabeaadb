# pragma version ^0.4.0
# A counter that can call another Cell: the DMC tests' contract (cross-contract calls, reverts in a
# callee, calls into system contracts).

interface Cell:
    def add(by: uint256) -> uint256: nonpayable
    def add_via(other: address, by: uint256) -> uint256: nonpayable

KV_TABLE: constant(address) = 0x0000000000000000000000000000000000001009
SYSTEM_CONFIG: constant(address) = 0x0000000000000000000000000000000000001000

value: public(uint256)
calls: public(uint256)

event Added:
    by: uint256
    total: uint256


@external
def add(by: uint256) -> uint256:
    self.value += by
    log Added(by=by, total=self.value)
    return self.value


@external
def add_via(other: address, by: uint256) -> uint256:
    # writes its own row first, so the row stays locked while the call is out
    self.value += 1
    total: uint256 = extcall Cell(other).add(by)
    self.calls += total
    return total


@external
def relay(first: address, second: address, by: uint256) -> uint256:
    # first calls second; then this frame calls second too (already warm: EIP-2929)
    extcall Cell(first).add_via(second, by)
    return extcall Cell(second).add(by)


@external
def add_then_fail(by: uint256):
    self.value += by
    raise "refused"


@external
def add_via_then_fail(other: address, by: uint256):
    # the callee's write succeeds, then this frame reverts: the callee's write must go too
    self.value += 1
    extcall Cell(other).add(by)
    raise "refused after the call"


@external
def try_call(target: address, data: Bytes[200]) -> bool:
    # a callee that reverts must not revert this frame (a low-level call)
    self.calls += 1
    return raw_call(target, data, revert_on_failure=False)


@external
def kv_set(key: String[16], val: String[16]) -> bool:
    # a call into a system contract (KVTable.set), from a contract
    self.calls += 1
    return raw_call(KV_TABLE, abi_encode("t_dmc", key, val, method_id=method_id("set(string,string,string)")), revert_on_failure=False)


@external
def set_config(val: String[16]) -> bool:
    # governance from a contract: refused (the contract is no admin), whoever sent the transaction
    self.calls += 1
    return raw_call(SYSTEM_CONFIG, abi_encode("tx_count_limit", val, method_id=method_id("setValueByKey(string,string)")), revert_on_failure=False)
