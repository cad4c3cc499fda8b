"""Reading the chain's history: the events every role and explorer rebuilds its view from."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from eth_utils import event_abi_to_log_topic

from pogo.errors import PogoError
from pogo.net.contract import PoGOContract, committee_hash

DRAWN_CACHE_BLOCKS = 4096  # how far back EventLog.committee_drawn keeps what it read


@dataclass(frozen=True)
class Published:
    """What a submission (or the task's creation) published: roots and IPFS CIDs."""

    submission_id: int
    miner: str
    kind: int
    prev_root: bytes
    new_root: bytes
    diff_root: bytes
    diff_cid: str
    tree_cid: str
    checkpoint_cid: str
    claimed_loss_first: int
    claimed_loss_last: int
    block: int


@dataclass(frozen=True)
class HeadStep:
    """One HeadAdvanced event: ``root`` became the head of ``round``, from a submission (0: the
    task's initial checkpoint)."""

    round: int
    root: bytes
    from_submission: int
    block: int


def _published(log) -> Published:
    a = log["args"]
    return Published(a["submissionId"], a["miner"], a["kind"], a["prevRoot"], a["newRoot"], a["diffRoot"],
                     a["diffCid"], a["treeCid"], a["checkpointCid"], a["claimedLossFirst"], a["claimedLossLast"],
                     log["blockNumber"])


class EventLog:
    """Event queries against one PoGO deployment, from its deployment block on."""

    def __init__(self, pogo: PoGOContract, from_block: int = 0):
        self.pogo = pogo
        self.events = pogo.contract.events
        self.from_block = from_block
        # CommitteeDrawn by block, for [_drawn_lo, _drawn_hi]: bots sharing this log (threads of
        # one process) read each draw once between them, not once each.
        self._drawn: dict[int, list[dict]] = {}
        self._drawn_lo, self._drawn_hi = 0, -1
        self._drawn_lock = threading.Lock()
        # each head's submissions so far, for the copy check: (task, head) -> (read to block, list)
        self._on: dict[tuple[int, bytes], tuple[int, list[Published]]] = {}
        self._on_lock = threading.Lock()
        self._topic: str | None = None  # UpdateSubmitted's, read from the ABI once

    def _logs(self, name: str, from_block: int | None = None, to_block: int | str = "latest", **filters) -> list:
        event = getattr(self.events, name)
        return event.get_logs(from_block=self.from_block if from_block is None else from_block, to_block=to_block,
                              argument_filters=filters or None)

    def task_created(self, task_id: int) -> dict:
        logs = self._logs("TaskCreated", taskId=task_id)
        if not logs:
            raise PogoError(f"task {task_id} was not created on this deployment")
        return dict(logs[0]["args"])

    def submission(self, submission_id: int) -> Published:
        logs = self._logs("UpdateSubmitted", submissionId=submission_id)
        if not logs:
            raise PogoError(f"no submission {submission_id} on this deployment")
        return _published(logs[0])

    def submissions(self, task_id: int, from_block: int | None = None, to_block: int | str = "latest") -> list[Published]:
        # one query for all: a round of a thousand updates is a thousand logs, not a thousand queries
        return [_published(log) for log in self._logs("UpdateSubmitted", from_block, to_block, taskId=task_id)]

    def revealed(self, task_id: int, from_block: int, to_block: int | str = "latest") -> list[tuple[int, int]]:
        """(submission id, block) of each of the task's submissions revealed in the blocks, read
        from the logs' indexed topics: a keeper following every update needs no more, and
        decoding each log's roots and CIDs was a quarter of a keeper's time at 1,000 miners."""
        logs = self.pogo.w3.eth.get_logs({
            "address": self.pogo.address, "fromBlock": from_block, "toBlock": to_block,
            "topics": [self._submitted_topic(), None, "0x" + task_id.to_bytes(32, "big").hex()]})
        return [(int.from_bytes(log["topics"][1], "big"), log["blockNumber"]) for log in logs]

    def _submitted_topic(self) -> str:
        if self._topic is None:
            abi = next(e for e in self.pogo.contract.abi if e.get("type") == "event" and e["name"] == "UpdateSubmitted")
            self._topic = "0x" + event_abi_to_log_topic(abi).hex()
        return self._topic

    def heads(self, task_id: int) -> list[HeadStep]:
        """Every head the task has had, oldest first: its lineage (section 7)."""
        return [HeadStep(log["args"]["round"], log["args"]["root"], log["args"]["fromSubmission"], log["blockNumber"])
                for log in self._logs("HeadAdvanced", taskId=task_id)]

    def submissions_on(self, task_id: int, prev_root: bytes, to_block: int) -> list[Published]:
        """The task's submissions up to ``to_block`` made while ``prev_root`` was the head (empty
        when it never was). Read from the block it became the head and remembered: each call
        reads only the blocks no earlier call read, so checking a round's thousand updates
        decodes each of them once, not once per check."""
        with self._on_lock:
            key = (task_id, prev_root)
            if key not in self._on:
                since = [s.block for s in self.heads(task_id) if s.root == prev_root]
                if not since:
                    return []
                self._on = {k: v for k, v in self._on.items() if k[0] != task_id}  # an older head's: done
                self._on[key] = (since[-1] - 1, [])
            read_to, subs = self._on[key]
            if to_block > read_to:
                subs = subs + [p for p in self.submissions(task_id, read_to + 1, to_block) if p.prev_root == prev_root]
                self._on[key] = (to_block, subs)
            return [p for p in subs if p.block <= to_block]

    def committee_drawn(self, from_block: int, to_block: int | str = "latest") -> list[dict]:
        """The committees drawn in blocks [from_block, to_block]. Closed ranges are cached as a
        window of at most DRAWN_CACHE_BLOCKS blocks that grows forward, the way pollers ask."""
        if to_block == "latest":
            return self._read_drawn(from_block, to_block)
        with self._drawn_lock:  # one reader at a time: the others then find the blocks cached
            if not self._drawn_lo <= from_block <= self._drawn_hi + 1:  # outside the window: restart it here
                self._drawn, self._drawn_lo, self._drawn_hi = {}, from_block, from_block - 1
            if to_block > self._drawn_hi:
                for e in self._read_drawn(self._drawn_hi + 1, to_block):
                    self._drawn.setdefault(e["block"], []).append(e)
                self._drawn_hi = to_block
            drawn = [e for b in range(from_block, to_block + 1) for e in self._drawn.get(b, ())]
            while self._drawn_hi - self._drawn_lo >= DRAWN_CACHE_BLOCKS:
                self._drawn.pop(self._drawn_lo, None)
                self._drawn_lo += 1
            return drawn

    def _read_drawn(self, from_block: int, to_block: int | str) -> list[dict]:
        """Each draw's arguments, its block, and ``committeeHash``: the hash of its members that
        the submission stores (PoGO.drawCommittee), which names this draw among any other."""
        return [dict(log["args"]) | {"block": log["blockNumber"],
                                     "committeeHash": committee_hash(log["args"]["members"])}
                for log in self._logs("CommitteeDrawn", from_block, to_block)]

    def accepted_updates(self, task_id: int, round_: int) -> list[Published]:
        """The round's accepted updates, in ascending submission id (the aggregation order): its
        updates' logs, and the Finalized logs from the first of them on. Two queries: reading each
        update's status made every node rebuilding a head call the chain once per update (93 % of a
        miner process's time at 1,000 miners)."""
        from pogo.net.contract import Status

        logs = self._logs("UpdateSubmitted", taskId=task_id, round=round_)
        updates = {p.submission_id: p for p in map(_published, logs) if p.kind == 0}
        if not updates:
            return []
        first = min(log["blockNumber"] for log in logs)
        status = {}
        for log in self._logs("Finalized", first):
            if log["args"]["submissionId"] in updates:  # a submission is finalized once (PoGO.sol)
                status[log["args"]["submissionId"]] = log["args"]["status"]
        return [updates[sid] for sid in sorted(updates) if status.get(sid) == Status.ACCEPTED]
