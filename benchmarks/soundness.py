"""Soundness of the version-2 verification (PROTOCOL.md V2.1-V2.3); prints one JSON object.

    python -m benchmarks.soundness [--trials 200] [--nulls 50] [--cheat-rounds 3] [--quick]

Three parts, each through the code that the bots run:

honest   ``--trials`` independent honest updates of the demo's GPT, each scaled so that its
         TRUE gain (the mean paired gain over a large fixed set of windows of the miner's shard,
         independent of the verifier's seed-drawn windows) is 2x the task's threshold, and
         judged by ``verifier.checks.measure`` on the exact MX-int4 model the diff commits to.
         The protocol promises: never slashed, refused with probability <= error_rate (1e-3).
         Also reported, from the test's own statistics: each trial's z-margin at its decision
         look and an upper bound (union over the looks) on the probability that an update with
         true gain exactly 2x the threshold and the trial's per-window spread is refused.
         A subset is measured four times (one per committee seat, each on fresh model objects):
         every seat must reach the same verdict and gain.
null     ``--nulls`` updates with true gain ~0 (the head itself; a small random update; a trained
         update scaled past its optimum until its gain is back to 0): accepted with probability
         <= error_rate.
chain    every cheat of workers/cheats.py, ``--cheat-rounds`` times, on a real devnet (Anvil,
         IPFS, the contract, four VerifierBots, Miners with cheating builders) with a tiny model:
         the fraction of cheating submissions not accepted must be 1.0, and no bot may raise.

Progress goes to stderr; the JSON goes to stdout.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from deploy import corpus as corpus_mod
from pogo.model import manifest
from pogo.model.gpt import GPT, GPTConfig
from pogo.model.loss import window_losses
from pogo.protocol import checkpoint, difffile, judgment
from pogo.protocol.taskspec import Verification
from verifier import checks

LEAF = 4096                 # the demo's leaf size (deploy.task.publish_task)
N_SHARDS = 8                # shard 7 validates
TRAIN_SHARDS = N_SHARDS - 1
FAULTS = (judgment.HARMFUL, judgment.NON_FINITE)
DETAIL = re.compile(r"paired gain (-?\d+) ± ([0-9.]+|nan|inf) micro-nats over (\d+) windows")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- the statistics of the rule ---------------------------------------------------------------

def refuse_bound(sd: float, rules: judgment.Rules, true_gain: float) -> float:
    """Upper bound (union over the looks) on P(an update whose per-window paired gains have mean
    ``true_gain`` and spread ``sd`` is not accepted) under the sequential rule; the mean at look
    n is taken as t-distributed around the true gain with the rule's se = sd / sqrt(n)."""
    from scipy import stats

    thr, looks = rules.threshold, rules.looks()
    if sd <= 0:
        return 0.0 if true_gain >= thr else 1.0
    total = 0.0
    for n in looks:
        se, t, dof = sd / math.sqrt(n), rules.t(n), n - 1
        if t * se <= thr:    # the decision look: refused iff mean < threshold
            return min(1.0, total + float(stats.t.cdf((thr - true_gain) / se, dof)))
        if n == looks[-1]:   # the cap: not accepted unless mean - t se >= threshold
            return min(1.0, total + float(stats.t.cdf((thr + t * se - true_gain) / se, dof)))
        total += float(stats.t.cdf((thr - t * se - true_gain) / se, dof))  # NO_PROGRESS at this look
    return min(1.0, total)


def accept_bound(sd: float, rules: judgment.Rules, true_gain: float) -> float:
    """Upper bound (union over the looks) on P(accepted) for the same model of the mean."""
    from scipy import stats

    thr, looks = rules.threshold, rules.looks()
    if sd <= 0:
        return 1.0 if true_gain >= thr else 0.0
    total = 0.0
    for n in looks:
        se, t, dof = sd / math.sqrt(n), rules.t(n), n - 1
        if t * se <= thr:    # the decision look: accepted iff mean >= threshold
            return min(1.0, total + float(stats.t.sf((thr - true_gain) / se, dof)))
        total += float(stats.t.sf((thr + t * se - true_gain) / se, dof))  # early OK at this look
    return min(1.0, total)


def decision_look(sd: float, rules: judgment.Rules) -> int | None:
    """The first look at which t se <= threshold for this spread (None: the cap comes first)."""
    for n in rules.looks():
        if rules.t(n) * sd / math.sqrt(n) <= rules.threshold:
            return n
    return None


# -- the true gain ------------------------------------------------------------------------------

class TrueGain:
    """Per-window paired gains (micro-nats) of a model over the head on a FIXED set of windows
    per shard, drawn from its own rng (never from a submission's seed). The head's losses, and
    its gradient (for a first guess of the scale), are computed once per shard."""

    def __init__(self, cfg: GPTConfig, head: np.ndarray, shards: list[np.ndarray], windows: int, seed: int = 20240):
        self.cfg, self.shards, self.windows, self.head = cfg, shards, windows, head
        self.net = GPT(cfg)
        manifest.load_into(self.net, head)
        self.offsets, self.base = {}, {}
        for s in range(TRAIN_SHARDS):
            rng = np.random.default_rng([seed, s])
            self.offsets[s] = rng.integers(0, len(shards[s]) - cfg.block_size, windows).tolist()
            self.base[s] = window_losses(self.net, shards[s], self.offsets[s], cfg.block_size)
        self.evals = 0          # model evaluations on the fixed windows, for the report
        self._grad: dict[int, np.ndarray] = {}

    def slope(self, d: np.ndarray, s: int) -> float:
        """The derivative of the true gain of head + alpha * d at alpha = 0 (micro-nats per
        unit alpha), from the head's gradient on the fixed windows of shard s."""
        if s not in self._grad:
            from pogo.model.loss import batch

            net = GPT(self.cfg)
            manifest.load_into(net, self.head)
            net.zero_grad()
            offsets = self.offsets[s]
            for i in range(0, len(offsets), 256):
                x, y = batch(self.shards[s], offsets[i:i + 256], self.cfg.block_size)
                _, loss = net(x, y)
                (loss * len(offsets[i:i + 256]) / len(offsets)).backward()
            self._grad[s] = torch.cat([p.grad.reshape(-1) for _, p in net.named_parameters()]).double().numpy()
        grad = self._grad[s]
        return float(-grad @ d[: grad.size].astype(np.float64)) * 1e6

    def x(self, theta: np.ndarray, s: int) -> np.ndarray:
        manifest.load_into(self.net, theta)
        self.evals += 1
        return (self.base[s] - window_losses(self.net, self.shards[s], self.offsets[s], self.cfg.block_size)) * 1e6


class Curve:
    """The true gain of the committed (MX-int4) model of the update alpha * d from the head."""

    def __init__(self, tg: TrueGain, prev: np.ndarray, d: np.ndarray, s: int):
        self.tg, self.prev, self.d, self.s = tg, prev, d, s
        self._x: dict[float, np.ndarray] = {}

    def theta(self, alpha: float) -> np.ndarray:
        raw = (self.prev + np.float32(alpha) * self.d).astype(np.float32)
        return difffile.make_diff(self.prev, raw, LEAF).theta_new

    def x(self, alpha: float) -> np.ndarray:
        if alpha not in self._x:
            self._x[alpha] = self.tg.x(self.theta(alpha), self.s)
        return self._x[alpha]

    def gain(self, alpha: float) -> float:
        return float(self.x(alpha).mean())


def _quadratic_b(a: float, alpha: float, g: float) -> float:
    """b of g = a alpha - b alpha^2 through one measured point, with the known slope a."""
    return (a * alpha - g) / alpha ** 2


def solve_rising(gain, a: float, target: float, alpha0: float, tol: float, max_evals: int
                 ) -> tuple[float, float] | None:
    """An alpha > 0 on the rising branch with gain(alpha) within tol * target of target
    (gain(0) = 0, slope a at 0): a quadratic step from the first point, then secant steps,
    kept inside the bracket (bisection when they leave it)."""
    pts: list[tuple[float, float]] = []
    lo, hi = 0.0, math.inf        # gain(lo) < target; gain(hi) > target, or hi is past the peak
    alpha = alpha0
    for _ in range(max_evals):
        g = gain(alpha)
        if abs(g - target) <= tol * target:
            return alpha, g
        past_peak = any(pa < alpha and pg > g for pa, pg in pts)
        pts.append((alpha, g))
        if g > target or past_peak:
            hi = min(hi, alpha)
        else:
            lo = max(lo, alpha)
        if len(pts) == 1:
            b = _quadratic_b(a, alpha, g)
            disc = a * a - 4 * b * target
            nxt = target / a if b == 0 else (a - math.sqrt(disc)) / (2 * b) if disc >= 0 else math.nan
        else:
            (a1, g1), (a2, g2) = pts[-2:]
            nxt = a2 + (target - g2) * (a2 - a1) / (g2 - g1) if g2 != g1 else math.nan
        if not (math.isfinite(nxt) and lo < nxt < hi):
            nxt = (lo + hi) / 2 if math.isfinite(hi) else 2 * max(lo, alpha)
        alpha = nxt
    return None


def solve_falling_zero(gain, a: float, alpha0: float, tol_abs: float, max_evals: int
                       ) -> tuple[float, float] | None:
    """An alpha > 0 past the optimum where the gain is 0 again (a trained update pushed too far):
    the quadratic's second root a / b first, then secant steps inside the bracket."""
    pts: list[tuple[float, float]] = []
    pos, neg = 0.0, math.inf      # gain(pos) > 0 (past some rise), gain(neg) < 0
    alpha = alpha0
    for _ in range(max_evals):
        g = gain(alpha)
        falling = g <= 0 or any(pa < alpha and pg > g for pa, pg in pts)
        if abs(g) <= tol_abs and falling:
            return alpha, g
        pts.append((alpha, g))
        if g > 0:
            pos = max(pos, alpha) if alpha < neg else pos
        else:
            neg = min(neg, alpha) if alpha > pos else neg
        if len(pts) == 1:
            b = _quadratic_b(a, alpha, g)
            nxt = a / b if b > 0 else math.nan
        else:
            (a1, g1), (a2, g2) = pts[-2:]
            nxt = a2 - g2 * (a2 - a1) / (g2 - g1) if g2 != g1 else math.nan
        if not (math.isfinite(nxt) and pos < nxt < neg):
            nxt = (pos + neg) / 2 if math.isfinite(neg) else 2 * max(pos, alpha)
        alpha = nxt
    return None


# -- one trial ----------------------------------------------------------------------------------

@dataclass
class Setup:
    cfg: GPTConfig
    head_net: GPT
    prev: np.ndarray            # the head, n_params
    prev_padded: np.ndarray
    shards: list[np.ndarray]
    tg: TrueGain
    rules: judgment.Rules
    steps: int
    tol: float
    bends: list = field(default_factory=list)   # alpha found / alpha of the linear prediction


def train_direction(st: Setup, s: int, seed: int) -> np.ndarray:
    from workers.trainer import train_plain

    net = copy.deepcopy(st.head_net)
    train_plain(net, st.shards[s], st.steps, 16, seed)
    return manifest.flatten(net)[: st.prev.size] - st.prev


def measured(st: Setup, theta_new: np.ndarray, s: int, seed: bytes) -> checks.Measurement:
    """The verifier's own code path: the paired sequential measurement of the submission."""
    return checks.measure(st.cfg.to_json(), st.cfg.block_size, st.prev_padded, theta_new, st.shards[s], st.shards[N_SHARDS - 1], seed,
                          st.rules)


def evidence(m: checks.Measurement, sd_fallback: float) -> tuple[float, float, bool]:
    """(mean, se) of the measurement's training windows, read from its detail line; when the
    detail is about the validation shard (OVERFIT), se comes from the fixed windows' spread."""
    hit = DETAIL.search(m.detail)
    if hit:
        return float(hit.group(1)), float(hit.group(2)), True
    return float(m.improvement), sd_fallback / math.sqrt(max(m.windows, 1)), False


def calibrate(st: Setup, s: int, seed: int, target: float) -> tuple[Curve, float, float] | None:
    """An update trained from the head on shard s, scaled so that the true gain of its committed
    model is target within st.tol: (curve, alpha, true gain), or None."""
    d = train_direction(st, s, seed)
    curve = Curve(st.tg, st.prev, d, s)
    a = st.tg.slope(d, s)
    if a <= 0:
        return None
    # The linear prediction falls short by the curvature; earlier trials say by how much.
    alpha0 = target / a * (statistics.median(st.bends) if st.bends else 1.05)
    found = solve_rising(curve.gain, a, target, alpha0, st.tol, 8)
    if found is None:
        return None
    st.bends.append(found[0] * a / target)
    return curve, found[0], found[1]


def honest_trial(st: Setup, i: int, target: float, seat_repeat: bool) -> dict:
    s = i % TRAIN_SHARDS
    t0, evals0 = time.perf_counter(), st.tg.evals
    for attempt in range(4):
        got = calibrate(st, s, 1000 * attempt + i, target)
        if got is not None:
            break
    else:
        raise RuntimeError(f"honest trial {i}: could not scale any update to a true gain of {target}")
    curve, alpha, true_gain = got
    x = curve.x(alpha)
    theta_new = curve.theta(alpha)
    seed = hashlib.sha256(b"trial%d" % i).digest()
    t1 = time.perf_counter()
    m = measured(st, theta_new, s, seed)
    t2 = time.perf_counter()
    sd_fixed = float(x.std(ddof=1))
    mean, se, parsed = evidence(m, sd_fixed)
    row = {"trial": i, "shard": s, "retries": attempt, "alpha": alpha, "true_gain": true_gain,
           "true_gain_se": sd_fixed / math.sqrt(x.size), "sd_fixed": sd_fixed, "reason": m.reason,
           "improvement": m.improvement, "windows": m.windows, "mean": mean, "se": se, "se_parsed": parsed,
           "update_rms": float(np.sqrt(np.mean((alpha * curve.d.astype(np.float64)) ** 2))),
           "detail": m.detail, "calibrate_s": t1 - t0, "measure_s": t2 - t1, "evals": st.tg.evals - evals0}
    if seat_repeat:
        seats = [(m.reason, m.improvement, m.windows, m.detail)]
        for _ in range(3):  # the other seats: fresh model objects, as in another process
            checks.forget_models()
            again = measured(st, curve.theta(alpha), s, seed)
            seats.append((again.reason, again.improvement, again.windows, again.detail))
        row["seats"] = seats
    return row


def null_trial(st: Setup, j: int, kind: str, rms: float) -> dict:
    s = j % TRAIN_SHARDS
    seed = hashlib.sha256(b"null%d" % j).digest()
    thr = st.rules.threshold
    if kind == "exact_zero":    # the head itself, resubmitted
        theta_new = difffile.make_diff(st.prev, st.prev.copy(), LEAF).theta_new
        x, alpha = np.zeros(st.tg.windows), 0.0
    elif kind == "tiny_random":  # noise of an honest update's size: no gain, a second-order loss
        rng = np.random.default_rng([7, j])
        curve = Curve(st.tg, st.prev, (rng.standard_normal(st.prev.size) * rms).astype(np.float32), s)
        theta_new, x, alpha = curve.theta(1.0), curve.x(1.0), 1.0
    else:  # overshoot_zero: a trained update pushed past its optimum until the gain is 0 again
        for attempt in range(4):
            d = train_direction(st, s, 5000 + 1000 * attempt + j)
            curve = Curve(st.tg, st.prev, d, s)
            a = st.tg.slope(d, s)
            found = solve_falling_zero(curve.gain, a, 1.0, 0.1 * thr, 10) if a > 0 else None
            if found is not None:
                break
        else:
            raise RuntimeError(f"null trial {j}: no zero crossing found")
        alpha = found[0]
        theta_new, x = curve.theta(alpha), curve.x(alpha)
    m = measured(st, theta_new, s, seed)
    sd_fixed = float(x.std(ddof=1)) if x.any() else 0.0
    mean, se, _ = evidence(m, sd_fixed)
    return {"trial": j, "kind": kind, "shard": s, "alpha": alpha, "true_gain": float(x.mean()),
            "true_gain_se": sd_fixed / math.sqrt(x.size), "sd_fixed": sd_fixed, "reason": m.reason,
            "improvement": m.improvement, "windows": m.windows, "mean": mean, "se": se, "detail": m.detail}


def _stats(values: list[float], digits: int = 1) -> dict:
    if not values:
        return {}
    return {"min": round(min(values), digits), "median": round(statistics.median(values), digits),
            "max": round(max(values), digits)}


def statistical_part(args) -> dict:
    start = time.perf_counter()
    rules = Verification().rules()
    thr = float(rules.threshold)
    target = 2 * thr
    cfg = GPTConfig()
    corpus = corpus_mod.load_corpus(N_SHARDS)
    shards = corpus_mod.shards(corpus.tokens, N_SHARDS)
    torch.manual_seed(0)
    head_net = GPT(cfg)
    from workers.trainer import train_plain

    log(f"pretraining the head: {args.pretrain_steps} steps on shard 0")
    losses = train_plain(head_net, shards[0], args.pretrain_steps, 16, 0)
    prev = manifest.flatten(head_net)
    log(f"head loss {losses[0]:.3f} -> {losses[-1]:.3f}; caching its losses on {args.true_windows} fixed windows "
        f"of each of {TRAIN_SHARDS} shards")
    tg = TrueGain(cfg, prev, shards, args.true_windows)
    st = Setup(cfg, head_net, prev, checkpoint.pad(prev, LEAF), shards, tg, rules, args.update_steps, args.tol)
    setup_s = time.perf_counter() - start

    rows = []
    t0 = time.perf_counter()
    for i in range(args.trials):
        row = honest_trial(st, i, target, seat_repeat=(i % args.seat_every == 0))
        rows.append(row)
        log(f"honest {i + 1}/{args.trials}: shard {row['shard']} alpha {row['alpha']:.4f} true gain "
            f"{row['true_gain']:.0f} -> {row['reason']} {row['detail']}  (calibration {row['calibrate_s']:.1f} s, "
            f"{row['evals']} evaluations; measure {row['measure_s']:.1f} s; total {time.perf_counter() - t0:.0f} s)")
    honest_s = time.perf_counter() - t0

    # The size of a tiny random update: the median RMS of the calibrated honest updates.
    rms_typ = statistics.median([r["update_rms"] for r in rows]) if rows else 1e-4
    kinds = ["exact_zero", "tiny_random", "overshoot_zero"]
    nulls = []
    t0 = time.perf_counter()
    for j in range(args.nulls):
        row = null_trial(st, j, kinds[j % len(kinds)], rms_typ)
        nulls.append(row)
        log(f"null {j + 1}/{args.nulls}: {row['kind']} true gain {row['true_gain']:.0f} -> {row['reason']} "
            f"{row['detail']}")
    null_s = time.perf_counter() - t0

    n = len(rows)
    verdicts = Counter(r["reason"] for r in rows)
    not_ok = [r for r in rows if r["reason"] != judgment.OK]
    z = [(r["mean"] - thr) / r["se"] for r in rows if r["se"] > 0]
    sds = [r["se"] * math.sqrt(r["windows"]) for r in rows]
    refuse = [refuse_bound(sd, rules, target) for sd in sds]
    accept0 = [accept_bound(sd, rules, 0.0) for sd in sds]
    refuse_true = [refuse_bound(r["sd_fixed"], rules, r["true_gain"]) for r in rows]
    from scipy import stats

    z_tail = [float(stats.t.sf(zz, r["windows"] - 1)) for zz, r in zip(z, [r for r in rows if r["se"] > 0])]
    seat_rows = [r for r in rows if "seats" in r]
    disagree = [r for r in seat_rows if len(set(r["seats"])) > 1]
    null_verdicts = Counter(r["reason"] for r in nulls)
    null_ok = [r for r in nulls if r["reason"] == judgment.OK]
    null_accept = [accept_bound(r["se"] * math.sqrt(r["windows"]), rules, 0.0) for r in nulls]

    result = {
        "honest_trials": n,
        "honest_true_gain_target": target,
        "honest_true_gain": _stats([r["true_gain"] for r in rows]),
        "honest_true_gain_tolerance": args.tol,
        "honest_true_gain_se": _stats([r["true_gain_se"] for r in rows]),
        "honest_true_windows": args.true_windows,
        "honest_alpha": _stats([r["alpha"] for r in rows], 5),
        "honest_calibration_retries": sum(r["retries"] for r in rows),
        "honest_verdicts": dict(verdicts),
        "honest_slashed": sum(verdicts[f] for f in FAULTS),
        "honest_not_accepted": len(not_ok),
        "honest_not_accepted_rate": len(not_ok) / n if n else None,
        "honest_not_accepted_details": [{k: r[k] for k in ("trial", "shard", "alpha", "true_gain", "reason",
                                                             "improvement", "windows", "detail")} for r in not_ok],
        "honest_measured_gain": _stats([float(r["improvement"]) for r in rows], 0),
        "honest_windows_used": dict(sorted(Counter(r["windows"] for r in rows).items())),
        "honest_per_window_sd": _stats(sds, 0),
        "honest_se_from_detail": sum(r["se_parsed"] for r in rows),
        "z_margin_min": round(min(z), 3) if z else None,
        "z_margin_median": round(statistics.median(z), 3) if z else None,
        "z_margin_tail_max": max(z_tail) if z_tail else None,
        "t_at_looks": {str(k): round(rules.t(k), 4) for k in rules.looks()},
        "decision_look": _stats([float(decision_look(sd, rules) or rules.max_windows) for sd in sds], 0),
        "refuse_2x_bound_per_trial_max": max(refuse) if refuse else None,
        "refuse_2x_bound_per_trial_median": statistics.median(refuse) if refuse else None,
        "p_refuse_2x_estimate": float(np.mean(refuse)) if refuse else None,
        "refuse_at_true_gain_estimate": float(np.mean(refuse_true)) if refuse_true else None,
        "accept_0_bound_per_trial_max": max(accept0) if accept0 else None,
        "p_accept_0_estimate": float(np.mean(accept0)) if accept0 else None,
        "seat_disagreement_trials": len(seat_rows),
        "seat_disagreement_rate": len(disagree) / len(seat_rows) if seat_rows else None,
        "seat_disagreements": [{"trial": r["trial"], "seats": r["seats"]} for r in disagree],
        "null_trials": len(nulls),
        "null_kinds": dict(Counter(r["kind"] for r in nulls)),
        "null_true_gain": _stats([r["true_gain"] for r in nulls]),
        "null_true_gain_se": _stats([r["true_gain_se"] for r in nulls]),
        "null_update_rms": rms_typ,
        "null_verdicts": dict(null_verdicts),
        "null_accepted": len(null_ok),
        "null_accepted_rate": len(null_ok) / len(nulls) if nulls else None,
        "null_slashed": sum(null_verdicts[f] for f in FAULTS),
        "null_accept_bound_per_trial_max": max(null_accept) if null_accept else None,
        "null_accepted_details": [{k: r[k] for k in ("trial", "kind", "true_gain", "reason", "detail")}
                                  for r in null_ok],
        "statistical_seconds": {"setup": round(setup_s, 1), "honest": round(honest_s, 1), "null": round(null_s, 1)},
        "true_gain_model_evaluations": tg.evals,
        "honest_calibration_seconds": _stats([r["calibrate_s"] for r in rows]),
        "honest_measure_seconds": _stats([r["measure_s"] for r in rows], 2),
    }
    return result


# -- the chain part: every cheat through chain, IPFS and the bots ------------------------------

CHEATS = ["random", "zero", "replayed", "stale_base", "wrong_root", "malformed", "nan", "withheld", "vandal"]


def chain_part(rounds: int, workdir: Path) -> dict:
    from deploy import scenario
    from deploy.scenario import ETH
    from deploy.task import publish_task
    from pogo.context import Context
    from pogo.dev.devnet import Devnet
    from pogo.net import chain
    from pogo.net.contract import PoGOContract, Status, TaskParams
    from pogo.net.ipfs import Ipfs
    from verifier.bot import VerifierBot
    from workers import cheats
    from workers.miner import Built, Miner, build_honest
    from workers.trainer import TrainConfig, Trainer

    tiny = GPTConfig(block_size=32, n_layer=1, n_head=2, n_embd=32)
    leaf = 1024
    start = time.perf_counter()
    devnet = Devnet(workdir / "devnet")
    state = devnet.up()
    try:
        w3 = chain.connect(state.rpc_url)
        ipfs = Ipfs(state.ipfs_api)
        sc = scenario.build(w3, n_miners=1 + len(CHEATS), n_verifiers=4, miner_stake=10 * ETH,
                            pogo=PoGOContract.deploy(chain.Client(w3, chain.dev_account(0))))
        verification = Verification(fetch_timeout_s=1.0, availability_blocks=12)
        task = publish_task(sc.pogo, ipfs, TaskParams(round_blocks=60, vote_blocks=60), model_cfg=tiny, n_shards=4,
                            leaf_size=leaf, verification=verification, funding=(rounds + 2) * 3 * ETH)
        ctx = Context.open(sc.pogo, ipfs, task, workdir / "owner")
        bots = [VerifierBot(ctx.as_signer(sc.as_(v), workdir / f"v{i}"), progress=lambda s, i=i: log(f"  bot {i}: {s}"),
                            aggregator=(i == 0)) for i, v in enumerate(sc.verifiers)]
        trainer = Trainer(tiny, TrainConfig(steps=8, batch_size=8, lr=3e-3))

        def miner(index: int, name: str) -> Miner:
            return Miner(ctx.as_signer(sc.as_(sc.miners[index]), workdir / name), trainer,
                         progress=lambda s: log(f"  {name}: {s}"))

        honest = miner(0, "honest")
        cheaters = {name: miner(1 + k, name) for k, name in enumerate(CHEATS)}

        def built_from(m: Miner, round_: int) -> Built:
            d = m.ctx.workdir / f"round-{round_}"
            header = difffile.decode_header((d / "diff").read_bytes())
            return Built((d / "diff").read_bytes(), (d / "tree").read_bytes(), header.prev_root, header.new_root,
                         header.diff_root)

        log("chain round 0: the honest miner alone")
        honest_sids = [sc.work([honest], task)[0].submission_id]  # commit, then reveal
        sc.drive(bots, task, 1, max_polls=200)
        heads = [sc.pogo.task(task).head_root]
        outcomes: dict[str, list[str]] = {c: [] for c in CHEATS}
        reasons: dict[str, list[list[str]]] = {c: [] for c in CHEATS}
        skipped: dict[str, int] = {}
        for r in range(1, rounds + 1):
            t = sc.pogo.task(task)
            head = t.head_root
            builders = {
                "random": cheats.random_update, "zero": cheats.zero_update,
                "replayed": cheats.Replay(built_from(honest, t.round - 1)),
                "wrong_root": cheats.wrong_root, "malformed": cheats.bad_scales, "nan": cheats.non_finite,
                "withheld": cheats.withheld, "vandal": cheats.vandal,
            }
            stale = heads[-2] if len(heads) > 1 else initial_root(sc, task)
            if stale != head:
                builders["stale_base"] = (lambda p, raw, root, lf, groups=0, stale=stale:
                                          build_honest(ctx.model(stale), raw, stale, lf, groups))
            log(f"chain round {t.round}: the honest miner and {len(builders)} cheats")
            playing = {}
            for name, m in cheaters.items():
                if name not in builders:
                    skipped[name] = skipped.get(name, 0) + 1
                    continue
                m.builder = builders[name]
                playing[name] = m
            # Everyone commits in the commit window, then reveals once it has closed.
            honest_report, *reports = sc.work([honest, *playing.values()], task)
            honest_sids.append(honest_report.submission_id if honest_report else None)
            sids = {}
            for name, report in zip(playing, reports):
                if report is None:
                    raise RuntimeError(f"the {name} miner submitted nothing in round {t.round}")
                sids[name] = report.submission_id
            votes = sc.drive(bots, task, t.round + 1, max_polls=200)
            for name, sid in sids.items():
                outcomes[name].append(sc.pogo.submission(sid).status.name)
                reasons[name].append(sorted({v.verdict.reason.name for v in votes if v.submission_id == sid}))
            heads.append(sc.pogo.task(task).head_root)
            log("  " + ", ".join(f"{n}: {outcomes[n][-1]} {reasons[n][-1]}" for n in sids))
        honest_status = [sc.pogo.submission(s).status.name for s in honest_sids if s]
        not_accepted = ("REJECTED", "NOT_ACCEPTED")
        return {
            "detection": {c: (sum(o != Status.ACCEPTED.name for o in outcomes[c]) / len(outcomes[c])
                              if outcomes[c] else None) for c in CHEATS},
            "detection_trials": {c: len(outcomes[c]) for c in CHEATS},
            "detection_outcomes": {c: dict(Counter(outcomes[c])) for c in CHEATS},
            "detection_reasons": {c: dict(Counter("+".join(x) or "(no vote)" for x in reasons[c])) for c in CHEATS},
            "cheater_slashed": {c: (sum(o == Status.REJECTED.name for o in outcomes[c]) / len(outcomes[c])
                                    if outcomes[c] else None) for c in CHEATS},
            "cheater_final": {c: all(o in not_accepted for o in outcomes[c]) for c in CHEATS},
            "detection_skipped": skipped,
            "chain_honest_outcomes": dict(Counter(honest_status)),
            "bot_exceptions": sum(bot.errors for bot in bots),
            "chain_rounds": rounds,
            "chain_model": tiny.to_json(),
            "chain_verification": {"fetch_timeout_s": verification.fetch_timeout_s,
                                   "availability_blocks": verification.availability_blocks},
            "chain_seconds": round(time.perf_counter() - start, 1),
        }
    finally:
        devnet.down()


def initial_root(sc, task_id: int) -> bytes:
    """The task's initial head (its TaskCreated params)."""
    return sc.pogo.task(task_id).params.initial_root


# -- main ---------------------------------------------------------------------------------------

def device() -> str:
    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, help="honest trials, true gain 2x the threshold (200; quick 20)")
    parser.add_argument("--nulls", type=int, help="null trials, true gain ~0 (50; quick 9)")
    parser.add_argument("--cheat-rounds", type=int, help="chain rounds, one submission per cheat in each (3; quick 1)")
    parser.add_argument("--seat-every", type=int, help="measure every N-th honest trial for all 4 seats (10; quick 5)")
    parser.add_argument("--true-windows", type=int, default=2048, help="fixed windows defining the true gain")
    parser.add_argument("--tol", type=float, default=0.03, help="relative tolerance of the true gain on 2x")
    parser.add_argument("--pretrain-steps", type=int, default=150)
    parser.add_argument("--update-steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="fewer trials (the numbers in brackets above)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (0: one when the machine is already busy, else torch's default)")
    parser.add_argument("--skip-chain", action="store_true")
    args = parser.parse_args(argv)
    if args.threads <= 0 and os.getloadavg()[0] >= 1.0:
        args.threads = 1  # another job shares the cores: more threads would only contend
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    for name, full, quick in (("trials", 200, 20), ("nulls", 50, 9), ("cheat_rounds", 3, 1), ("seat_every", 10, 5)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    start = time.perf_counter()
    rules = Verification().rules()
    report: dict = {
        "device": device(),
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rules": {"threshold": rules.threshold, "error_rate": rules.error_rate, "slash_rate": rules.slash_rate,
                  "harm_margin": rules.harm_margin, "max_validation_rise": rules.max_validation_rise,
                  "looks": rules.looks()},
        "model": GPTConfig().to_json(),
    }
    report.update(statistical_part(args))
    if not args.skip_chain:
        with tempfile.TemporaryDirectory() as tmp:
            report.update(chain_part(args.cheat_rounds, Path(tmp)))
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
