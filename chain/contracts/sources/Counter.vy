# pragma version ^0.4.0
interface Counter:
    def add(by: uint256) -> uint256: nonpayable

value: public(uint256)

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
    self.value += 1
    return extcall Counter(other).add(by)
