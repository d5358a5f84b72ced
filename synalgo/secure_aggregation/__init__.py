"""Secure aggregation: pairwise masking with dropout recovery (Bonawitz et al., CCS 2017).

The server (the TTP) learns only the sum of the clients' quantised vectors. Each client
advertises two X25519 public keys, sends every peer (through the server, encrypted) Shamir
shares of its mask key and of its self-mask seed, then sends its vector masked modulo 2^32
with ChaCha20 keystreams; survivors finally hand the server the shares it needs to remove
the dropped clients' pairwise masks and the survivors' self-masks.
"""

from synalgo.secure_aggregation.client import SecAggClient
from synalgo.secure_aggregation.errors import SecAggError
from synalgo.secure_aggregation.params import SecAggParams, default_threshold
from synalgo.secure_aggregation.server import SecAggServer

__all__ = ["SecAggClient", "SecAggError", "SecAggParams", "SecAggServer", "default_threshold"]
