"""`pogo inspect`: operator tools on real files, through the real command line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pogo.protocol import checkpoint


def pogo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pogo", *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(1)
    prev = rng.standard_normal(1000).astype(np.float32)
    raw = prev + rng.standard_normal(1000).astype(np.float32) * 1e-2
    checkpoint.write(tmp_path / "prev.bin", prev, 256)
    checkpoint.write(tmp_path / "raw.bin", raw, 256)
    return tmp_path, prev


@pytest.mark.parametrize("groups, record_size", [(0, 136), (3, 57)])
def test_quantize_inspect_apply_root(files, groups, record_size):
    d, prev = files
    q = pogo("inspect", "quantize", str(d / "prev.bin"), str(d / "raw.bin"), str(d / "u.diff"),
             "--leaf-size", "256", "--params", "1000", "--groups", str(groups))
    assert q.returncode == 0, q.stderr
    header = json.loads(q.stdout)
    assert header["n_params"] == 1000 and header["n_leaves"] == 4 and header["record_size"] == record_size
    assert (header["version"], header["groups_per_record"]) == (2 if groups else 1, groups)
    shown = pogo("inspect", "diff", str(d / "u.diff"), "--check")
    assert shown.returncode == 0 and json.loads(shown.stdout) == header
    applied = pogo("inspect", "apply", str(d / "prev.bin"), str(d / "u.diff"), str(d / "new.bin"))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == header["new_root"]
    root = pogo("inspect", "root", str(d / "new.bin"), "--leaf-size", "256")
    assert root.stdout.strip() == header["new_root"]
    prev_root = pogo("inspect", "root", str(d / "prev.bin"), "--leaf-size", "256")
    assert prev_root.stdout.strip() == "0x" + checkpoint.model_root(prev, 256).hex() == header["prev_root"]


@pytest.mark.parametrize("args, message", [
    (["inspect", "root", "missing.bin"], "no such file"),
    (["inspect", "root", "junk.bin"], "whole number"),
    (["inspect", "root", "junk.bin", "--leaf-size", "100"], "power of two"),
    (["inspect", "diff", "junk.bin"], "not a PoGO diff file"),
    (["inspect", "diff", "trunc.diff"], "header says"),
    (["inspect", "apply", "raw.bin", "u.diff", "out.bin"], "not the diff's base"),
    (["inspect", "nonsense"], "invalid choice"),
    (["inspect", "quantize", "prev.bin", "raw.bin", "s.diff", "--leaf-size", "256", "--groups", "8"],
     "groups per record must be an integer in [0, 8)"),
])
def test_bad_input_gets_one_line_and_exit_2(files, args, message):
    d, _ = files
    (d / "junk.bin").write_bytes(b"\x01" * 1001)
    pogo("inspect", "quantize", str(d / "prev.bin"), str(d / "raw.bin"), str(d / "u.diff"), "--leaf-size", "256")
    (d / "trunc.diff").write_bytes((d / "u.diff").read_bytes()[:500])
    r = subprocess.run([sys.executable, "-m", "pogo", *args], capture_output=True, text=True, cwd=d, timeout=120, check=False)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr
    assert not (d / "out.bin").exists()
