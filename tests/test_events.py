"""EventLog's cache of committee draws: the bots of one process (threads sharing a log) read
each draw once between them, and every bot still sees exactly the draws of the blocks it asks
for. The real chain behind it is covered by test_roles (seats-only bots find their seats)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pogo.net import events
from pogo.net.events import EventLog, HeadStep, Published


class CountingLog(EventLog):
    """An EventLog whose chain is a dict of block -> draws, counting the blocks it reads."""

    def __init__(self, chain: dict[int, list[dict]]):
        super().__init__(SimpleNamespace(contract=SimpleNamespace(events=None)))
        self.chain, self.reads = chain, []

    def _read_drawn(self, from_block, to_block):
        to = max(self.chain) if to_block == "latest" else to_block
        self.reads.extend(range(from_block, to + 1))
        return [e for b in range(from_block, to + 1) for e in self.chain.get(b, [])]


def draws(blocks: range) -> dict[int, list[dict]]:
    return {b: [{"submissionId": b * 10 + j, "members": [f"v{b % 3}"], "block": b} for j in range(b % 3)]
            for b in blocks}


def direct(chain, lo, hi):
    return [e for b in range(lo, hi + 1) for e in chain.get(b, [])]


def test_pollers_sharing_a_log_read_each_block_once_and_see_exactly_their_range():
    chain = draws(range(200))
    log = CountingLog(chain)
    polls = [(0, 10), (0, 12), (11, 30), (5, 30), (13, 31), (31, 31), (32, 60), (20, 60)]
    for lo, hi in polls:
        assert log.committee_drawn(lo, hi) == direct(chain, lo, hi)
    assert sorted(log.reads) == list(range(61)), "each block read once"


def test_a_poller_behind_the_window_reads_directly_and_the_window_is_bounded(monkeypatch):
    monkeypatch.setattr(events, "DRAWN_CACHE_BLOCKS", 8)
    chain = draws(range(100))
    log = CountingLog(chain)
    assert log.committee_drawn(0, 20) == direct(chain, 0, 20)
    assert log.committee_drawn(15, 40) == direct(chain, 15, 40)
    assert log._drawn_hi - log._drawn_lo < 8 and len(log._drawn) <= 8
    assert log.committee_drawn(3, 41) == direct(chain, 3, 41)  # behind the window: read, then the window restarts
    assert log.committee_drawn(30, 41) == direct(chain, 30, 41)
    assert log.committee_drawn(42, "latest") == direct(chain, 42, 99)  # an open range is never cached


@pytest.mark.parametrize("lo,hi", [(7, 7), (0, 0)])
def test_single_blocks(lo, hi):
    chain = draws(range(10))
    log = CountingLog(chain)
    assert log.committee_drawn(lo, hi) == direct(chain, lo, hi)


class SubmissionLog(EventLog):
    """An EventLog whose task history is a list of submissions and heads, counting the blocks read."""

    def __init__(self, subs: list[Published], heads: list[HeadStep]):
        super().__init__(SimpleNamespace(contract=SimpleNamespace(events=None)))
        self.subs, self.head_steps, self.reads = subs, heads, []

    def heads(self, task_id):
        return self.head_steps

    def submissions(self, task_id, from_block=None, to_block="latest"):
        self.reads.extend(range(from_block, to_block + 1))
        return [p for p in self.subs if from_block <= p.block <= to_block]


def published(sid: int, prev: bytes, block: int) -> Published:
    return Published(sid, "0xminer", 0, prev, b"n" * 32, bytes([sid % 3]) * 32, "", "", "", 0, 0, block)


def test_submissions_on_a_head_are_read_once_and_never_include_another_heads():
    a, b = b"a" * 32, b"b" * 32
    subs = [published(i, a if i < 20 else b, 10 + i) for i in range(40)]  # head b from block 29 on
    log = SubmissionLog(subs, [HeadStep(0, a, 0, 5), HeadStep(1, b, 7, 29)])

    def expect(root, to):
        return [p for p in subs if p.prev_root == root and p.block <= to]

    for to in (12, 25, 18, 29, 20):  # checks finish in any order
        assert log.submissions_on(1, a, to) == expect(a, to)
    assert sorted(log.reads) == list(range(5, 30)), "from the block a became the head, each block once"
    log.reads.clear()
    for to in (31, 49, 40):
        assert log.submissions_on(1, b, to) == expect(b, to)
    assert sorted(log.reads) == list(range(29, 50))
    assert log.submissions_on(1, a, 49) == expect(a, 49)  # an older head's, asked again: read again, still right
    assert log.submissions_on(1, b"c" * 32, 49) == []  # never a head: no copy can be found on it


class RoundLog(EventLog):
    """An EventLog over a list of UpdateSubmitted and Finalized logs, with no chain to call: a
    status read per update (the old way) would fail on the SimpleNamespace."""

    def __init__(self, logs: dict[str, list[dict]]):
        super().__init__(SimpleNamespace(contract=SimpleNamespace(events=None)))
        self.logs, self.queries = logs, []

    def _logs(self, name, from_block=None, to_block="latest", **filters):
        self.queries.append(name)
        return [log for log in self.logs[name] if log["blockNumber"] >= (from_block or 0)
                and all(log["args"][k] == v for k, v in filters.items())]


def test_a_rounds_accepted_updates_come_from_two_queries_in_id_order():
    from pogo.net.contract import Status

    def update(sid, round_, block, kind=0):
        return {"blockNumber": block, "args": {"submissionId": sid, "taskId": 1, "round": round_, "kind": kind,
                                               "miner": "0xm", "prevRoot": b"p" * 32, "newRoot": b"n" * 32,
                                               "diffRoot": bytes([sid]) * 32, "diffCid": f"cid{sid}", "treeCid": "",
                                               "checkpointCid": "", "claimedLossFirst": 0, "claimedLossLast": 0}}

    def final(sid, status, block):
        return {"blockNumber": block, "args": {"submissionId": sid, "status": status}}

    log = RoundLog({
        "UpdateSubmitted": [update(1, 0, 10), update(2, 1, 30), update(5, 1, 31), update(3, 1, 32),
                            update(4, 1, 33), update(6, 1, 34), update(7, 1, 60, kind=1)],
        "Finalized": [final(1, Status.ACCEPTED, 20), final(3, Status.ACCEPTED, 40), final(2, Status.ACCEPTED, 41),
                      final(4, Status.REJECTED, 42), final(6, Status.EXPIRED, 43), final(5, Status.ACCEPTED, 44),
                      final(7, Status.ACCEPTED, 70)],
    })
    accepted = log.accepted_updates(1, 1)
    # round 1's updates only (not round 0's 1), accepted ones only, ascending id, no aggregate (7)
    assert [p.submission_id for p in accepted] == [2, 3, 5]
    assert log.queries == ["UpdateSubmitted", "Finalized"]
    assert RoundLog({"UpdateSubmitted": [], "Finalized": []}).accepted_updates(1, 2) == []
