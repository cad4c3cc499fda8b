"""PoGO: Proof of Gradient Optimization.

The protocol core shared by every role: Merkle commitments over the fp32 model,
MX-int4 update diffs, their file formats, the keccak seed stream, and the chain and
IPFS clients at the edges. ``docs/PROTOCOL.md`` is the specification.
"""

__version__ = "0.1.0"
