"""Sample contracts and the system contracts' interfaces, with compiled artifacts for both suites.

``sources/`` holds the Solidity sources (``sources/system/`` the interfaces of the system
contracts at 0x1000-0x100a); ``artifacts/<suite>/<Name>.json`` the compiled contracts, committed so
that nothing needs a compiler to deploy them. Both suites are optimised; the sm artifacts carry SM3
selectors, topics and a dispatcher rebuilt for them (see ``chain.sdk.compiler``).
Regenerate them with ``python -m chain.contracts.build`` (needs node and npm for solc-js).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from chain.abi.artifact import Artifact
from chain.sdk.compiler import load

HERE = Path(__file__).parent
SOURCES = HERE / "sources"
ARTIFACTS = HERE / "artifacts"
SAMPLES = ("HelloWorld", "Asset", "KVStore")


@lru_cache(maxsize=None)
def load_artifact(name: str, suite: str) -> Artifact:
    """A committed sample artifact, e.g. load_artifact("Asset", "sm")."""
    return load(ARTIFACTS / suite / f"{name}.json")
