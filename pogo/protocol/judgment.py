"""The loss judgment of PROTOCOL.md section 6 (version 2): one paired, sequential measurement
per submission, the same for every seat.

Every seat evaluates the old head and the new model on the same windows (drawn from the
submission's seed), so honest seats see the same numbers and agree. Per window k the paired
improvement is ``x_k = loss_prev_k - loss_new_k`` (micro-nats); the windows are i.i.d. draws
from the shard, so the mean of ``x`` estimates the true gain with standard error ``s / sqrt(n)``.

Windows are added in looks (n0, 2 n0, 4 n0, ... up to the task's cap). After each look:

- HARMFUL (a fault: slashed) when the loss rose by more than ``harm_margin`` beyond doubt:
  ``-mean - t_harm * se > harm_margin``, with ``t_harm`` the Student-t quantile for the
  false-slash rate divided by the number of looks (union bound);
- OK when ``mean - t * se >= threshold`` (the gain is above the threshold beyond doubt);
- NO_PROGRESS when ``mean + t * se < threshold`` (below it beyond doubt);
- decided by ``mean >= threshold`` once ``t * se <= threshold``: then a true gain of
  2 x threshold is refused, and a true gain of 0 accepted, each with probability <= rate;
- INSUFFICIENT_EVIDENCE when the cap is reached first: not accepted, not slashed.

``t`` is the Student-t quantile for the task's error rate divided by the number of looks.
Judgments (NO_PROGRESS, OVERFIT, INSUFFICIENT_EVIDENCE) cost the miner a round, never stake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

OK = "OK"
NO_PROGRESS = "NO_PROGRESS"
OVERFIT = "OVERFIT"
INSUFFICIENT_EVIDENCE = "INSUFFICIENT_EVIDENCE"
HARMFUL = "HARMFUL"
NON_FINITE = "NON_FINITE"


@dataclass(frozen=True)
class Rules:
    """The task's stated rates and bounds (from its spec's ``verification``)."""

    threshold: float            # micro-nats: the least gain worth a round (min_improvement)
    max_validation_rise: float  # micro-nats
    harm_margin: float          # micro-nats: a rise beyond this (and beyond noise) is HARMFUL
    error_rate: float           # per wrong judgment (accept a useless update / refuse a 2x one)
    slash_rate: float           # per false HARMFUL on an update that did not harm
    first_look: int             # windows in the first look
    max_windows: int            # the cap

    def looks(self) -> list[int]:
        sizes, n = [], self.first_look
        while n < self.max_windows:
            sizes.append(n)
            n *= 2
        return sizes + [self.max_windows]

    def t(self, n: int) -> float:
        return _t_quantile(self.error_rate / len(self.looks()), n - 1)

    def t_harm(self, n: int) -> float:
        return _t_quantile(self.slash_rate / len(self.looks()), n - 1)


@lru_cache(maxsize=256)
def _t_quantile(tail: float, dof: int) -> float:
    from scipy import stats

    return float(stats.t.isf(tail, dof))


@dataclass(frozen=True)
class Evidence:
    n: int
    mean: float   # micro-nats, mean of prev - new (positive: the loss fell)
    se: float     # standard error of the mean

    @classmethod
    def paired(cls, prev: np.ndarray, new: np.ndarray) -> Evidence:
        x = (np.asarray(prev, dtype=np.float64) - np.asarray(new, dtype=np.float64)) * 1e6
        if not np.isfinite(x).all():
            return cls(x.size, math.nan, math.nan)
        sd = float(x.std(ddof=1)) if x.size > 1 else math.inf
        return cls(x.size, float(x.mean()), sd / math.sqrt(x.size))

    @property
    def finite(self) -> bool:
        return math.isfinite(self.mean) and math.isfinite(self.se)


def judge_gain(ev: Evidence, rules: Rules, last_look: bool) -> str | None:
    """The verdict on the training windows after one look, or None: look again."""
    if not ev.finite:
        return NON_FINITE
    if -ev.mean - rules.t_harm(ev.n) * ev.se > rules.harm_margin:
        return HARMFUL
    t = rules.t(ev.n)
    if ev.mean - t * ev.se >= rules.threshold:
        return OK
    if ev.mean + t * ev.se < rules.threshold:
        return NO_PROGRESS
    if t * ev.se <= rules.threshold:
        return OK if ev.mean >= rules.threshold else NO_PROGRESS
    return INSUFFICIENT_EVIDENCE if last_look else None


def judge_validation(rise: Evidence, rules: Rules) -> str:
    """OVERFIT when the validation loss rose by more than the task allows, beyond doubt.
    ``rise`` is Evidence.paired(new, prev): positive when the loss went up."""
    if not rise.finite:
        return NON_FINITE
    if rise.mean - rules.t(rise.n) * rise.se > rules.max_validation_rise:
        return OVERFIT
    return OK


def judge_aggregate(rise: Evidence, rules: Rules, last_look: bool) -> str | None:
    """The aggregate's loss check (PROTOCOL.md D15) after one look, or None: look again.

    ``rise`` is Evidence.paired(new, prev) on validation windows: positive when the aggregate
    raised the loss. An exact aggregate is refused (OVERFIT, a judgment: the aggregator followed
    the rule and is never slashed) when it raised the loss by more than ``harm_margin`` beyond
    doubt, and when its loss is not finite; it is accepted as soon as its rise is within the
    margin beyond doubt, and at the cap when harm was not shown. An aggregate whose true rise
    is at most the margin is refused with probability at most ``error_rate``."""
    if not rise.finite:
        return OVERFIT
    t = rules.t(rise.n)
    if rise.mean - t * rise.se > rules.harm_margin:
        return OVERFIT
    if rise.mean + t * rise.se <= rules.harm_margin or last_look:
        return OK
    return None
