"""The hidden process: episodes of interest, buying signals, opportunities, consent events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from samplegen.records import _Clock, _Companies, _Deals, _People
from samplegen.tables import (
    _A,
    _BASELINE_MIX,
    _BUYING_MIX,
    _EMAIL_TYPES,
    _ENGAGED_MIX,
    _FAR_FUTURE,
    _SALES_MIX,
    _SIGNAL_MIX,
    _SOURCE_ACTIVITY,
    _SOURCE_BUYING,
    DAY,
    LEAD_SOURCES,
    Rng,
)
from samplegen.vectorized import _choice, _office_hours

# ---- the hidden process: episodes of interest, signals, opportunities --------------------------


@dataclass
class _Acts:
    """Activities as parallel arrays: who (row index), when (epoch seconds), what (type index).
    Narrow dtypes keep tens of millions of rows small."""

    who: np.ndarray
    t: np.ndarray
    kind: np.ndarray

    def __post_init__(self) -> None:
        self.who = self.who.astype(np.int32, copy=False)
        self.t = self.t.astype(np.int64, copy=False)
        self.kind = self.kind.astype(np.int8, copy=False)

    @staticmethod
    def concat(parts: Sequence[_Acts]) -> _Acts:
        fields = ("who", "t", "kind")
        return _Acts(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))

    def where(self, keep: np.ndarray | slice) -> _Acts:
        return _Acts(self.who[keep], self.t[keep], self.kind[keep])


def _bursts(rng: Rng, who: np.ndarray, start: np.ndarray, size: np.ndarray, spread_days: float,
            mix: np.ndarray) -> _Acts:
    """``size`` activities per burst, after its start, mostly within ``spread_days``."""
    owner = np.repeat(np.arange(len(who), dtype=np.int32), size)
    t = start[owner] + rng.exponential(spread_days * DAY, len(owner))
    kind = _choice(rng, len(owner), mix)
    return _Acts(who[owner], _office_hours(rng, t.astype(np.int64)), kind)


def _uniform_in_life(rng: Rng, people: _People, per_year: np.ndarray,
                     clock: _Clock) -> tuple[np.ndarray, np.ndarray]:
    """Poisson many (who, time) pairs per person, uniform between creation and export."""
    life = clock.end - people.created
    counts = rng.poisson(per_year * life / (365 * DAY))
    who = np.repeat(np.arange(people.n, dtype=np.int32), counts)
    t = people.created[who] + rng.random(len(who)) * life[who]
    return who, t.astype(np.int64)


def _event_triggered(rng: Rng, people: _People, events: pl.DataFrame) -> pl.DataFrame:
    """(who, start) of interest raised by funding or hiring at the person's company."""
    staff = pl.DataFrame({"who": np.arange(people.n), "company": people.company})
    pairs = (
        staff.join(events.filter(pl.col("event") <= 1), on="company")
        .sort("who", "t", "event")
    )
    who, t = pairs["who"].to_numpy(), pairs["t"].to_numpy()
    fit = people.fit[who]
    keep = (t > people.created[who] - 30 * DAY) & (
        rng.random(len(who)) < (0.10 + 0.45 * fit) * np.where(pairs["event"] == 0, 1.4, 1.0)
    )
    start = np.maximum(t, people.created[who]) + rng.exponential(35 * DAY, len(who))
    return pl.DataFrame({"who": who[keep], "start": start[keep].astype(np.int64)})


def _buying_episodes(rng: Rng, people: _People, events: pl.DataFrame,
                     clock: _Clock) -> tuple[_Acts, np.ndarray, np.ndarray]:
    """Bursts of buying activity, each opening with an intent signal; returns the activities and
    the (who, time) of the opportunities they may lead to."""
    per_year = (0.04 + 1.2 * people.fit**2) * _SOURCE_BUYING[people.source]
    who, start = _uniform_in_life(rng, people, per_year, clock)
    triggered = _event_triggered(rng, people, events)
    who = np.concatenate([who, triggered["who"].to_numpy()])
    start = np.concatenate([start, triggered["start"].to_numpy()])
    signal_t = _office_hours(rng, start + (rng.random(len(who)) * 7 * DAY).astype(np.int64))
    signals = _Acts(who, signal_t, _choice(rng, len(who), _SIGNAL_MIX))
    size = 2 + rng.negative_binomial(2, 0.25, len(who))
    burst = _bursts(rng, who, start, size, 10, _BUYING_MIX)
    converts = rng.random(len(who)) < 0.04 + 0.65 * people.fit[who]
    opp_t = signal_t + rng.gamma(2.0, 9 * DAY, len(who)).astype(np.int64)
    return _Acts.concat([signals, burst]), who[converts], opp_t[converts]


def _background(rng: Rng, people: _People, clock: _Clock) -> _Acts:
    """Everyday marketing touches and engagement bursts that carry (almost) no intent."""
    rate = rng.lognormal(np.log(0.03), 0.9, people.n) * (0.6 + 0.8 * people.fit)
    who, t = _uniform_in_life(rng, people, 365 * rate * _SOURCE_ACTIVITY[people.source], clock)
    kind = _choice(rng, len(who), _BASELINE_MIX)
    daily = _Acts(who, _office_hours(rng, t), kind)
    e_who, e_start = _uniform_in_life(rng, people, 0.5 + 1.5 * people.fit, clock)
    size = 1 + rng.negative_binomial(1, 0.18, len(e_who))
    engaged = _bursts(rng, e_who, e_start, size, 6, _ENGAGED_MIX)
    return _Acts.concat([daily, engaged])


def _creation_touch(rng: Rng, people: _People) -> _Acts:
    """The form or webinar that created the lead, a few minutes after creation."""
    source = np.asarray(LEAD_SOURCES)[people.source]
    form = np.isin(source, ("web_form", "paid_search", "organic"))
    webinar = source == "webinar"
    who = np.flatnonzero(form | webinar)
    kind = np.where(webinar[who], _A["webinar_attended"], _A["form_submit"])
    t = people.created[who] + rng.integers(0, 300, len(who))
    return _Acts(who, t, kind)


def _make_deals(rng: Rng, people: _People, companies: _Companies, who: np.ndarray,
                t: np.ndarray, clock: _Clock) -> _Deals:
    """The first opportunity per person among candidates that happen before export."""
    death = companies.death[np.maximum(people.company, 0)]
    ok = (t < clock.end - DAY) & (t < death[who]) & (people.company[who] >= 0)
    ok &= ~people.silent[who]
    who, t = who[ok], t[ok]
    order = np.lexsort((t, who))
    who, t = who[order], t[order]
    first = np.unique(who, return_index=True)[1]
    who, created = who[first], t[first]
    created = np.clip(_office_hours(rng, created), people.created[who] + 3600, clock.end - 1)
    closed = created + (rng.uniform(20, 120, len(who)) * DAY).astype(np.int64)
    is_closed = closed < clock.end
    won = is_closed & (rng.random(len(who)) < 0.08 + 0.5 * people.fit[who])
    return _Deals(who, created, np.where(is_closed, closed, _FAR_FUTURE), won)


def _sales_touches(rng: Rng, deals: _Deals, clock: _Clock) -> _Acts:
    """Meetings, calls and replies from a week before an opportunity until it closes."""
    end = np.minimum(deals.closed, clock.end)
    size = 1 + rng.poisson(4, len(deals.person))
    owner = np.repeat(np.arange(len(deals.person)), size)
    start = deals.created[owner] - 7 * DAY
    t = start + rng.random(len(owner)) * (end[owner] - start)
    kind = _choice(rng, len(owner), _SALES_MIX)
    return _Acts(deals.person[owner], _office_hours(rng, t.astype(np.int64)), kind)


def _consent_events(rng: Rng, people: _People, clock: _Clock) -> tuple[_Acts, np.ndarray]:
    """Unsubscribe and bounce activities, and per person the moment email activity stops."""
    life = clock.end - people.created
    stop = np.full(people.n, _FAR_FUTURE, dtype=np.int64)
    unsub = np.flatnonzero(people.opted_out)
    stop[unsub] = people.created[unsub] + (rng.uniform(0.05, 1, len(unsub)) * life[unsub])
    bounce = np.flatnonzero(people.bounced)
    delay = np.minimum(rng.exponential(3 * DAY, len(bounce)), 0.5 * life[bounce])
    stop[bounce] = people.created[bounce] + delay.astype(np.int64)
    who = np.concatenate([unsub, bounce])
    kind = np.concatenate([np.full(len(unsub), _A["unsubscribe"]),
                           np.full(len(bounce), _A["bounce"])])
    return _Acts(who, np.minimum(stop[who], clock.end - 1), kind), stop


def _plan_activities(rng: Rng, people: _People, companies: _Companies, events: pl.DataFrame,
                     clock: _Clock) -> tuple[_Acts, _Deals]:
    """All activities of real people and their opportunities, inside each person's life."""
    buying, cand_who, cand_t = _buying_episodes(rng, people, events, clock)
    extra_who, extra_t = _uniform_in_life(rng, people, 0.02 * (0.4 + people.fit), clock)
    deals = _make_deals(rng, people, companies, np.concatenate([cand_who, extra_who]),
                        np.concatenate([cand_t, extra_t]), clock)
    consent, stop = _consent_events(rng, people, clock)
    acts = _Acts.concat([_creation_touch(rng, people), _background(rng, people, clock), buying,
                         _sales_touches(rng, deals, clock)])
    death = companies.death[np.maximum(people.company, 0)][acts.who]
    keep = (acts.t >= people.created[acts.who]) & (acts.t < clock.end)
    keep &= ~(np.isin(acts.kind, _EMAIL_TYPES) & (acts.t > stop[acts.who]))
    keep &= ~((acts.t >= death) & (rng.random(len(acts.t)) < 0.9))
    keep &= ~people.silent[acts.who]
    return _Acts.concat([acts.where(keep), consent.where(~people.silent[consent.who])]), deals
