"""Regenerate the committed sample artifacts: ``python -m chain.contracts.build``."""

from __future__ import annotations

from chain.contracts import ARTIFACTS, SAMPLES, SOURCES
from chain.crypto.suite import SUITE_NAMES, get_suite
from chain.sdk.compiler import compile_file, save


def main() -> None:
    for suite_name in SUITE_NAMES:
        for name in SAMPLES:
            artifact = compile_file(SOURCES / f"{name}.sol", get_suite(suite_name))[name]
            print(save(artifact, ARTIFACTS / suite_name, abi_and_bin=False))


if __name__ == "__main__":
    main()
