"""Hashing, signatures, encryption and key files for the two suites (standard and sm)."""

from chain.crypto.hashing import keccak256, sm3
from chain.crypto.suite import SUITE_NAMES, CryptoSuite, SMSuite, StandardSuite, get_suite

__all__ = ["CryptoSuite", "SMSuite", "StandardSuite", "SUITE_NAMES", "get_suite", "keccak256", "sm3"]
