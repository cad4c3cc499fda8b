"""Model flattening and the manifest (PROTOCOL.md section 2)."""

import hashlib
import json

import numpy as np
import pytest
import torch

from pogo.errors import FormatError
from pogo.model import manifest


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(5, 3)
        self.lin = torch.nn.Linear(3, 2)


def test_flatten_follows_named_parameters_row_major():
    torch.manual_seed(0)
    m = Tiny()
    theta = manifest.flatten(m)
    assert theta.dtype == np.dtype("<f4") and theta.size == 15 + 6 + 2
    assert np.array_equal(theta[:15], m.emb.weight.detach().numpy().reshape(-1))
    assert np.array_equal(theta[15:21], m.lin.weight.detach().numpy().reshape(-1))
    man = manifest.of_module(m)
    assert [(e.name, e.shape, e.offset) for e in man.entries] == [
        ("emb.weight", (5, 3), 0), ("lin.weight", (2, 3), 15), ("lin.bias", (2,), 21)]


def test_manifest_hash_is_sha256_of_canonical_json():
    man = manifest.of_module(Tiny())
    expected = json.dumps([{"name": "emb.weight", "offset": 0, "shape": [5, 3]},
                           {"name": "lin.weight", "offset": 15, "shape": [2, 3]},
                           {"name": "lin.bias", "offset": 21, "shape": [2]}], separators=(",", ":")).encode()
    assert man.canonical_json() == expected
    assert man.hash() == hashlib.sha256(expected).digest()
    assert manifest.Manifest.from_json(expected) == man


def test_load_into_round_trips():
    a, b = Tiny(), Tiny()
    manifest.load_into(b, manifest.flatten(a))
    assert np.array_equal(manifest.flatten(a), manifest.flatten(b))


def test_bad_manifests_and_sizes_are_refused():
    with pytest.raises(FormatError, match="starts at"):
        manifest.Manifest.from_json('[{"name":"a","offset":1,"shape":[2]}]')
    with pytest.raises(FormatError, match="not a model manifest"):
        manifest.Manifest.from_json("{oops")
    with pytest.raises(FormatError, match="needs"):
        manifest.load_into(Tiny(), np.zeros(3, dtype=np.float32))
