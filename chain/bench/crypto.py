"""Crypto benchmark: how many signs, verifies and hashes per second each suite and backend does.

"sender/s" is what a node pays per transaction to learn who sent it: the standard suite *recovers*
the public key from (v, r, s); SM2 has no key recovery, so an sm transaction carries the key and
the same figure is a verification against it. One column, two operations: the caption says so.

A second table gives the VRFs rPBFT draws its working sealers with: FISCO's curve25519 VRF (the
chain's, `chain.crypto.vrf`) and RFC 9381's ECVRF, both in pure Python — each sealer proves once
per epoch and every node verifies each proof, so these rates bound how fast epochs can turn over.
"""

from __future__ import annotations

import os

from chain.bench.timing import ops_per_second
from chain.crypto import ecvrf, sm2, vrf
from chain.crypto.suite import CryptoSuite, SMSuite, StandardSuite


def suites_to_measure() -> list[tuple[str, CryptoSuite]]:
    rows: list[tuple[str, CryptoSuite]] = [("standard (secp256k1/keccak)", StandardSuite())]
    for backend in sm2.available_backends():
        rows.append((f"sm (SM2 via {backend}/SM3)", SMSuite(sm2.get_backend(backend))))
    return rows


def measure(suite: CryptoSuite, seconds: float) -> dict[str, float]:
    secret = suite.generate_private_key()
    public_key = suite.public_key(secret)
    msg_hash = suite.hash(b"benchmark message")
    signature = suite.sign(secret, msg_hash)
    payload = os.urandom(1024)
    return {
        "sign/s": ops_per_second(lambda: suite.sign(secret, msg_hash), seconds),
        "verify/s": ops_per_second(lambda: suite.verify(public_key, msg_hash, signature), seconds),
        "sender/s": ops_per_second(lambda: suite.recover(msg_hash, signature), seconds),
        "hash32/s": ops_per_second(lambda: suite.hash(msg_hash), seconds),
        "hash1KiB/s": ops_per_second(lambda: suite.hash(payload), seconds),
    }


def measure_vrf(seconds: float) -> list[tuple[str, dict[str, float]]]:
    """prove/s and verify/s of each VRF, over a 32-byte input (a block hash, as FISCO proves)."""
    alpha = bytes(range(32))
    rows: list[tuple[str, dict[str, float]]] = []
    for label, scheme, secret in [("curve25519 VRF (FISCO/WeDPR, Ristretto255)", vrf, vrf.secret_from_node_key(0x5EED)),
                                  ("ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381)", ecvrf, bytes(range(32)))]:
        public, proof = scheme.public_key(secret), scheme.prove(secret, alpha)

        def verify_afresh() -> None:
            vrf.forget_verifications()  # chain.crypto.vrf remembers answers: measure the work, not the memory
            scheme.verify(public, proof, alpha)

        rows.append((label, {
            "prove/s": ops_per_second(lambda: scheme.prove(secret, alpha), seconds),
            "verify/s": ops_per_second(verify_afresh, seconds),
        }))
    return rows


def run(seconds: float = 0.5) -> list[tuple[str, dict[str, float]]]:
    from rich.console import Console
    from rich.table import Table

    results = [(label, measure(suite, seconds)) for label, suite in suites_to_measure()]
    table = Table(title="crypto operations per second (one core)")
    table.add_column("suite / backend")
    columns = list(results[0][1])
    for column in columns:
        table.add_column(column, justify="right")
    for label, figures in results:
        table.add_row(label, *(f"{figures[c]:,.0f}" for c in columns))
    table.caption_justify = "left"
    table.caption = ("sender/s: the signer's public key from a signature — standard recovers it from (v, r, s); "
                     "sm checks the signature against the public key it carries (SM2 has no key recovery)")
    Console().print(table)

    vrf_table = Table(title="VRF operations per second (one core, pure Python)")
    vrf_table.add_column("VRF")
    vrf_table.add_column("prove/s", justify="right")
    vrf_table.add_column("verify/s", justify="right")
    for label, figures in measure_vrf(seconds):
        vrf_table.add_row(label, f"{figures['prove/s']:,.1f}", f"{figures['verify/s']:,.1f}")
    Console().print(vrf_table)
    return results
