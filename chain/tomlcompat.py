"""TOML reading on every supported Python: the standard library's tomllib from 3.11, tomli on 3.10.

Config, genesis and scenario files are TOML; this is the one place that knows where the reader
comes from, so the modules that read them simply ``from chain.tomlcompat import tomllib``.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (tomli is a dependency there, see pyproject.toml)
    import tomli as tomllib

__all__ = ["tomllib"]
