"""Follow one PoGO deployment's events into a SQL database (SQLite by default, any SQLAlchemy
URL): every event once, in chain order, with the fields an explorer filters on as columns.

The indexer keeps the hashes of the last blocks it read. When the chain's hash of one of them
differs (a reorganisation), it deletes everything from the first differing block on and reads
it again; a reorg deeper than REORG_DEPTH is an error that names the fix (a fresh database).
It resumes from the last block it stored, so a restart loses nothing and repeats nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3.exceptions import BlockNotFound

from pogo.errors import PogoError
from pogo.net.contract import PoGOContract

REORG_DEPTH = 64      # blocks whose hashes are kept and checked on every poll
CHUNK = 2_000         # blocks per eth_getLogs request

metadata = sa.MetaData()
events = sa.Table(
    "events", metadata,
    sa.Column("block", sa.Integer, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("tx", sa.String(66), nullable=False),
    sa.Column("name", sa.String(40), nullable=False, index=True),
    sa.Column("task_id", sa.Integer, index=True),
    sa.Column("submission_id", sa.Integer, index=True),
    sa.Column("round", sa.Integer),
    sa.Column("account", sa.String(42), index=True),
    sa.Column("args", sa.Text, nullable=False),  # JSON: every field, bytes as 0x hex
)
blocks = sa.Table(
    "blocks", metadata,
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("hash", sa.String(66), nullable=False),
)
meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

ACCOUNT_FIELDS = ("account", "miner", "verifier", "prover", "owner", "from")


def plain(value):
    """An event field as JSON: bytes as 0x hex, structs as objects, lists as lists."""
    if isinstance(value, bytes | bytearray | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass
class Progress:
    last_block: int
    head: int
    new_events: int
    reorged_from: int | None = None


class Indexer:
    def __init__(self, pogo: PoGOContract, url: str, from_block: int = 0,
                 say: Callable[[str], None] = lambda _: None):
        self.pogo = pogo
        self.w3 = pogo.client.w3
        self.say = say
        self.engine = sa.create_engine(url)
        metadata.create_all(self.engine)
        self._decoders = {}
        for entry in pogo.contract.abi:
            if entry["type"] == "event":
                self._decoders[HexBytes(event_abi_to_log_topic(entry))] = getattr(pogo.contract.events, entry["name"])()
        with self.engine.begin() as db:
            stored = dict(db.execute(sa.select(meta.c.key, meta.c.value)).all())
            if not stored:
                db.execute(meta.insert(), [{"key": "contract", "value": pogo.address},
                                           {"key": "chain_id", "value": str(self.w3.eth.chain_id)},
                                           {"key": "last_block", "value": str(from_block - 1)}])
            elif stored["contract"] != pogo.address or stored["chain_id"] != str(self.w3.eth.chain_id):
                raise PogoError(f"the database {url} indexes {stored['contract']} on chain {stored['chain_id']}, "
                                f"not {pogo.address} on chain {self.w3.eth.chain_id}: give the explorer another --db")

    def _fork_point(self, db) -> int | None:
        """The first stored block whose hash the chain no longer has, if any."""
        stored = db.execute(sa.select(blocks.c.number, blocks.c.hash).order_by(blocks.c.number)).all()
        for number, block_hash in stored:
            try:
                live = "0x" + bytes(self.w3.eth.get_block(number)["hash"]).hex()
            except BlockNotFound:  # the chain is now shorter than our record: the block is gone
                live = None
            if live != block_hash:
                if number == stored[0][0] and len(stored) >= REORG_DEPTH:
                    raise PogoError(f"the chain reorganised deeper than the {REORG_DEPTH} blocks the explorer checks: "
                                    "start it with a fresh --db")
                return number
        return None

    def poll(self) -> Progress:
        """Read every block since the last one stored, after undoing a reorganisation."""
        head = self.w3.eth.block_number
        with self.engine.begin() as db:
            last = int(db.execute(sa.select(meta.c.value).where(meta.c.key == "last_block")).scalar_one())
            fork = self._fork_point(db)
            if fork is not None:
                db.execute(events.delete().where(events.c.block >= fork))
                db.execute(blocks.delete().where(blocks.c.number >= fork))
                last = fork - 1
                self.say(f"the chain reorganised from block {fork}: reading it again")
            count = 0
            start = last + 1
            while start <= head:
                end = min(start + CHUNK - 1, head)
                logs = self.w3.eth.get_logs({"address": self.pogo.address, "fromBlock": start, "toBlock": end})
                rows = [self._row(log) for log in logs]
                rows = [r for r in rows if r is not None]
                if rows:
                    db.execute(events.insert(), rows)
                count += len(rows)
                start = end + 1
            if head > last:
                block_hash = "0x" + bytes(self.w3.eth.get_block(head)["hash"]).hex()
                db.execute(blocks.insert(), [{"number": head, "hash": block_hash}])
                db.execute(blocks.delete().where(blocks.c.number <= head - REORG_DEPTH))
                db.execute(meta.update().where(meta.c.key == "last_block").values(value=str(head)))
                last = head
            return Progress(last, head, count, fork)

    def _row(self, log) -> dict | None:
        decoder = self._decoders.get(HexBytes(log["topics"][0])) if log["topics"] else None
        if decoder is None:
            return None  # not an event of this ABI
        event = decoder.process_log(log)
        args = plain(dict(event["args"]))
        account = next((args[k] for k in ACCOUNT_FIELDS if isinstance(args.get(k), str)), None)
        return {"block": log["blockNumber"], "log_index": log["logIndex"], "tx": "0x" + bytes(log["transactionHash"]).hex(),
                "name": event["event"], "task_id": args.get("taskId"), "submission_id": args.get("submissionId"),
                "round": args.get("round"), "account": account, "args": json.dumps(args)}

    def query(self, *where, names: tuple[str, ...] = ()) -> list[dict]:
        """Events in chain order: each as {name, block, tx, **args}."""
        stmt = sa.select(events).order_by(events.c.block, events.c.log_index)
        for clause in where:
            stmt = stmt.where(clause)
        if names:
            stmt = stmt.where(events.c.name.in_(names))
        with self.engine.connect() as db:
            return [{"name": r.name, "block": r.block, "tx": r.tx, **json.loads(r.args)} for r in db.execute(stmt)]
