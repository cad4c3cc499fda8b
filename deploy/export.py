"""`pogo task export`: a task's head (or any past head) as a model its own library loads.

The head is rebuilt from its lineage and checked against its root on chain, then written
the way its library reads it: a transformers model directory (``from_pretrained(DIR)``) or
the built-in GPT's config.json and model.safetensors. The task's tokenizer.json comes along
where the task published one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pogo.context import MAX_SPEC_BYTES, Context
from pogo.errors import FormatError
from pogo.model import causal_lm, manifest
from pogo.protocol.atomicfile import write_bytes_atomic


def export_head(ctx: Context, out: Path, root: bytes | None = None) -> dict:
    root = root or ctx.head_root()
    net = ctx.build_model()
    manifest.load_into(net, ctx.model(root))
    written = causal_lm.save_pretrained(ctx.spec.model, net, out)
    data = ctx.dataset()
    if data.get("tokenizer_cid"):
        raw = ctx.fetch(data["tokenizer_cid"], MAX_SPEC_BYTES * 64)
        if "0x" + hashlib.sha256(raw).hexdigest() != data.get("tokenizer_sha256"):
            raise FormatError("the task's tokenizer does not match the hash in its dataset manifest")
        write_bytes_atomic(out / "tokenizer.json", raw)
        written.append(out / "tokenizer.json")
    return {"task": ctx.task_id, "root": "0x" + root.hex(), "out": str(out), "files": sorted({p.name for p in written})}
