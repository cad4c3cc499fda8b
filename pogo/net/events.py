"""Reading the chain's history: the events every role and explorer rebuilds its view from."""

from __future__ import annotations

from dataclasses import dataclass

from pogo.errors import PogoError
from pogo.net.contract import PoGOContract


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

    def heads(self, task_id: int) -> list[HeadStep]:
        """Every head the task has had, oldest first: its lineage (section 7)."""
        return [HeadStep(log["args"]["round"], log["args"]["root"], log["args"]["fromSubmission"])
                for log in self._logs("HeadAdvanced", taskId=task_id)]

    def committee_drawn(self, from_block: int, to_block: int | str = "latest") -> list[dict]:
        return [dict(log["args"]) | {"block": log["blockNumber"]}
                for log in self._logs("CommitteeDrawn", from_block, to_block)]

    def accepted_updates(self, task_id: int, round_: int) -> list[Published]:
        """The round's accepted updates, in ascending submission id (the aggregation order)."""
        from pogo.net.contract import Status

        out = []
        for log in self._logs("UpdateSubmitted", taskId=task_id, round=round_):
            p = _published(log)
            if p.kind == 0 and self.pogo.submission(p.submission_id).status == Status.ACCEPTED:
                out.append(p)
        return sorted(out, key=lambda p: p.submission_id)
