"""The contract ABI: how calls, results, events and compiled contracts are written as bytes.

It sits below execution (system contracts decode their calls with it, the governance helpers and
the in-process chain encode theirs) and below the SDK (contract wrappers, compilers), so neither
has to import the other:

* ``codec``    selectors and event topics per crypto suite, argument encoding, revert reasons,
               ``ContractABI`` (one contract's functions, events and errors)
* ``artifact`` ``Artifact``: one compiled contract (ABI, init code, runtime code, suite, compiler)
"""
