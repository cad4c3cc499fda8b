"""The demo itself, shortened: its own devnet, DeepSpeed miners, bots, aggregation each round."""

from deploy import demo


def test_two_rounds_advance_the_head_and_slash_the_cheater(tmp_path):
    report = demo.run(rounds=2, state_dir=tmp_path / "demo", steps=10)
    result = demo.verdict(report)
    assert result == {k: True for k in result}, result
    assert [len(r["submissions"]) for r in report["rounds"]] == [4, 4]
    assert all(r["submissions"][3]["reasons"] == ["HARMFUL"] for r in report["rounds"])
    assert report["slashed_eth"]["cheater"] == 1.0 and report["rounds"][1]["head"] != report["rounds"][0]["head"]
