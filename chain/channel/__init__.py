"""FISCO BCOS 2.x's channel protocol: SDK connections over mutual TLS (RPC, push, AMOP)."""
