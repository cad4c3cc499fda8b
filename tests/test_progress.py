"""What a miner shows while it trains: a progress bar on a terminal, a line a quarter in a log."""

from __future__ import annotations

import io

from workers.miner import Miner


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def train_steps(monkeypatch, stderr: io.StringIO, steps: int = 8) -> list[str]:
    monkeypatch.setattr("sys.stderr", stderr)
    lines: list[str] = []
    miner = Miner.__new__(Miner)  # only the progress display: no chain, no trainer
    miner.progress, miner._bar = lines.append, None
    for step in range(1, steps + 1):
        miner._train_progress(step, steps, 3.0 - step / 10)
    return lines


def test_a_terminal_gets_a_bar_and_one_line_at_the_end(monkeypatch):
    terminal = Terminal()
    lines = train_steps(monkeypatch, terminal)
    assert "training:" in terminal.getvalue() and "/8 [" in terminal.getvalue()  # tqdm redraws at most 10 times a second
    assert lines == ["step 8/8 loss 2.200"]


def test_a_log_gets_a_line_a_quarter_and_no_bar(monkeypatch):
    log = io.StringIO()
    lines = train_steps(monkeypatch, log)
    assert log.getvalue() == ""
    assert lines == ["step 2/8 loss 2.800", "step 4/8 loss 2.600", "step 6/8 loss 2.400", "step 8/8 loss 2.200"]


def test_a_long_wait_shows_the_blocks_left_and_a_new_target_starts_a_new_bar(monkeypatch):
    from pogo.progress import BlockWait

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    wait = BlockWait()
    wait.show("round 1: reveals and votes", 100, 110)
    wait.show("round 1: reveals and votes", 104, 110)
    assert "round 1: reveals and votes (block 110)" in terminal.getvalue() and "4/10" in terminal.getvalue()
    wait.show("round 2: committed, reveal", 111, 131)
    assert "0/20" in terminal.getvalue()
    wait.close()


def test_an_upload_moves_a_byte_bar_and_sends_every_byte(monkeypatch):
    """The chunked body is what the daemon gets (tests/test_ipfs.py reads a 3 MiB upload back)."""
    from pogo.net.ipfs import UPLOAD_BAR_BYTES, Ipfs

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    from pogo import progress

    made = []
    monkeypatch.setattr(progress, "byte_bar", lambda *a: made.append(progress.tqdm(total=a[0], desc=a[1], file=terminal))
                        or made[-1])
    data = bytes(range(256)) * (3 * UPLOAD_BAR_BYTES // 256 + 1)
    assert b"".join(Ipfs._chunks(data)) == data
    assert "uploading" in terminal.getvalue() and made[0].n == len(data) == made[0].total
    assert Ipfs._chunks(b"small") == b"small"  # no bar for a small object


def test_a_compile_shows_its_elapsed_time(monkeypatch):
    import time

    from pogo.progress import ticking

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with ticking("solc: 3 files", every_s=0.01):
        time.sleep(0.05)
    assert "solc: 3 files 00:0" in terminal.getvalue()
