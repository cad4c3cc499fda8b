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
