# gmssl 3.2.2 SM2 in pure Python: only what chain/ uses. Points and keys are hex strings.
from typing import Any

default_ecc_table: dict[str, str]

class CryptSM2:
    ecc_table: dict[str, str]
    public_key: str  # x ‖ y in hex (the constructor lstrips "04", digits of x included)
    def __init__(
        self, private_key: str, public_key: str, ecc_table: dict[str, str] = ..., mode: int = 0, asn1: bool = False
    ) -> None: ...
    # k·P as the affine point's hex (x ‖ y), None at the point at infinity.
    def _kg(self, k: int, Point: str) -> str | None: ...
    # r ‖ s as 128 hex digits, None when this nonce K (hex) is unusable.
    def sign(self, data: bytes, K: str) -> str | None: ...
    # 0 (not a bool) when r + s = 0 mod n.
    def verify(self, Sign: str, data: bytes) -> bool | int: ...
