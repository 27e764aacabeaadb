"""chain: an educational consortium blockchain in the mould of FISCO BCOS."""

__version__ = "0.1.0"
