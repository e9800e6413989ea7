"""The run report as one self-contained HTML file: inline CSS, inline SVG charts, no network.

Sections: the funnel (counts per stage and historic conversion between stages), changes since
the previous run, score and probability distributions, ICP rule hit rates, model metrics with a
calibration chart, enrichment coverage and data freshness, data quality, top movers, segments.
Every value from the data is HTML-escaped (names and titles come from CRM exports). The one
script sets a sentinel on ``window.onerror`` so that a browser test can see script errors.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import polars as pl

from features.schema import STAGES
from scoring.records import CalibrationBin, ModelCard, RunManifest

FUNNEL_STAGES = ("lead", "prospect", "opportunity", "customer")
STAGE_COLOURS = {"lead": "#8fb3d9", "prospect": "#4f86c6", "opportunity": "#f2a03d",
                 "customer": "#3aa37a", "disqualified": "#b9b9b9"}
TOP = 10


@dataclass(frozen=True)
class HistoricConversion:
    """How leads moved through the funnel in the CRM's own history (before as_of).

    with_opportunity: leads that ever had an opportunity; closed: of those, the ones whose
    deals closed (won or lost); won: leads with a won deal.
    """

    leads: int
    with_opportunity: int
    closed: int
    won: int

    @property
    def lead_to_opportunity(self) -> float | None:
        return self.with_opportunity / self.leads if self.leads else None

    @property
    def opportunity_to_customer(self) -> float | None:
        return self.won / self.closed if self.closed else None


def historic_conversion(features: pl.DataFrame) -> HistoricConversion:
    """Needs won_deal, open_opportunity, lost_opportunities per lead (the pipeline features)."""
    won = pl.col("won_deal").fill_null(False)
    lost = pl.col("lost_opportunities").fill_null(0) > 0
    any_opportunity = won | lost | pl.col("open_opportunity").fill_null(False)
    row = features.select(
        pl.len().alias("leads"),
        any_opportunity.sum().alias("with_opportunity"),
        (won | lost).sum().alias("closed"),
        won.sum().alias("won"),
    ).row(0, named=True)
    return HistoricConversion(**{k: int(v) for k, v in row.items()})


@dataclass(frozen=True)
class ReportInputs:
    """What the report shows.

    scores: the scored rows plus ``industry`` and ``country``. previous: the previous run's
    lead_id, recommended_stage, conversion_probability, priority_score (None: first run).
    manifest: the run manifest. card: the model card (None without a model).
    """

    scores: pl.DataFrame
    previous: pl.DataFrame | None
    manifest: RunManifest
    card: ModelCard | None
    history: HistoricConversion


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _n(value: float | int | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int] | None
           = None, cls: str = "") -> str:
    numeric = numeric or set()
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{_e(h)}</th>"
                   for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if i in numeric else ''}>{_e(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    if not rows:
        body = f"<tr><td colspan={len(headers)} class=muted>none</td></tr>"
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---- charts (inline SVG) -----------------------------------------------------------------------


def bar_chart(labels: Sequence[str], values: Sequence[float], *, colour: str = "#4f86c6",
              width: int = 460, height: int = 180, title: str = "") -> str:
    """Vertical bars with their counts on top and labels below."""
    n = max(len(values), 1)
    top = max([*values, 1])
    plot_h = height - 40
    gap = 4
    bar_w = (width - 20) / n - gap
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top
        x = 10 + i * (bar_w + gap)
        y = 18 + plot_h - h
        bars.append(
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar_w:.1f}' height='{h:.1f}' "
            f"fill='{colour}'><title>{_e(label)}: {_n(value)}</title></rect>"
            f"<text x='{x + bar_w / 2:.1f}' y='{y - 3:.1f}' class='v'>{_n(value)}</text>"
            f"<text x='{x + bar_w / 2:.1f}' y='{height - 6}' class='l'>{_e(label)}</text>")
    return (f"<svg role='img' aria-label='{_e(title)}' viewBox='0 0 {width} {height}' "
            f"width='{width}' height='{height}'>{''.join(bars)}</svg>")


def funnel_chart(stages: Mapping[str, int], history: HistoricConversion) -> str:
    """The funnel: one centred bar per stage, its count, and the historic conversion between
    lead -> opportunity and opportunity -> customer."""
    width, row_h, bar_room = 560, 46, 360
    top = max([stages.get(s, 0) for s in FUNNEL_STAGES] + [1])
    total = sum(stages.values()) or 1
    parts = []
    between = {"opportunity": ("historically, leads that reached an opportunity",
                               history.lead_to_opportunity),
               "customer": ("historically, closed opportunities won",
                            history.opportunity_to_customer)}
    y = 6
    for stage in FUNNEL_STAGES:
        if stage in between:
            text, rate = between[stage]
            parts.append(f"<text x='{bar_room / 2}' y='{y + 12}' class='conv'>↓ {_pct(rate)} "
                         f"{_e(text)}</text>")
            y += 20
        count = stages.get(stage, 0)
        w = max(6.0, bar_room * count / top)
        x = (bar_room - w) / 2
        parts.append(
            f"<g class='stage' data-stage='{stage}'><rect x='{x:.1f}' y='{y}' width='{w:.1f}' "
            f"height='{row_h - 12}' rx='4' fill='{STAGE_COLOURS[stage]}'/>"
            f"<text x='{bar_room + 14}' y='{y + (row_h - 12) / 2 + 5}' class='side'>"
            f"<tspan class='stage-name'>{stage}</tspan> {count:,} "
            f"({_pct(count / total, 0)})</text></g>")
        y += row_h - 6
    height = y + 6
    return (f"<svg id='funnel-chart' role='img' aria-label='funnel' viewBox='0 0 {width} "
            f"{height}' width='{width}' height='{height}'>{''.join(parts)}</svg>")


def calibration_chart(bins: Sequence[CalibrationBin], size: int = 260) -> str:
    """Predicted (x) against observed (y) conversion per bin; the diagonal is perfect."""
    pad = 34
    plot = size - 2 * pad
    top = max([0.05] + [b.mean_predicted for b in bins] + [b.observed_rate for b in bins])
    top = min(1.0, top * 1.1)

    def xy(p: float, o: float) -> tuple[float, float]:
        return pad + plot * p / top, size - pad - plot * o / top

    points = [xy(b.mean_predicted, b.observed_rate) for b in bins]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = "".join(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' fill='#f2a03d'>"
                   f"<title>predicted {_pct(b.mean_predicted)}, observed "
                   f"{_pct(b.observed_rate)} ({b.rows} rows)</title></circle>"
                   for (x, y), b in zip(points, bins, strict=True))
    x0, y0 = xy(0, 0)
    x1, y1 = xy(top, top)
    return (
        f"<svg id='calibration-chart' role='img' aria-label='calibration' viewBox='0 0 {size} "
        f"{size}' width='{size}' height='{size}'>"
        f"<rect x='{pad}' y='{pad}' width='{plot}' height='{plot}' class='frame'/>"
        f"<line x1='{x0:.1f}' y1='{y0:.1f}' x2='{x1:.1f}' y2='{y1:.1f}' class='diag'/>"
        f"<polyline points='{line}' fill='none' stroke='#f2a03d' stroke-width='2'/>{dots}"
        f"<text x='{size / 2}' y='{size - 6}' class='l'>predicted ({_pct(top, 0)} at the "
        f"right)</text><text x='10' y='{size / 2}' class='l' transform='rotate(-90 10 "
        f"{size / 2})'>observed</text></svg>")


# ---- sections ----------------------------------------------------------------------------------


def _histogram(values: pl.Series, edges: Sequence[float], fmt: str) -> tuple[list[str], list[int]]:
    """Counts per bin [lo, hi) (the last bin includes hi), labelled "lo-hi" with `fmt`."""
    labels, counts = [], []
    data = values.drop_nulls()
    for lo, hi in pairwise(edges):
        last = hi == edges[-1]
        inside = (data >= lo) & ((data <= hi) if last else (data < hi))
        labels.append(f"{fmt.format(lo)}-{fmt.format(hi)}")
        counts.append(int(inside.sum()))
    return labels, counts


def _funnel_section(data: ReportInputs) -> str:
    funnel = data.manifest.funnel
    stages = funnel.stages
    rows = [(s, stages.get(s, 0), _pct(stages.get(s, 0) / funnel.leads if funnel.leads
                                        else None))
            for s in STAGES]
    vs_crm = funnel.vs_crm
    h = data.history
    return (
        "<section id='funnel'><h2>Funnel</h2><div class='row'>"
        f"<div>{funnel_chart(stages, h)}</div><div class='side-panel'>"
        + _table(["stage", "leads", "share"], rows, {1, 2})
        + f"<p class=muted>History in the CRM before this date: {h.with_opportunity:,} of "
        f"{h.leads:,} leads reached an opportunity ({_pct(h.lead_to_opportunity)}); "
        f"{h.won:,} of {h.closed:,} leads with closed deals won one "
        f"({_pct(h.opportunity_to_customer)}).</p>"
        + "<h3>Against the CRM's own stage</h3>"
        + _table(["change", "leads"], list(vs_crm.items()), {1})
        + "</div></div></section>")


def _changes_section(data: ReportInputs) -> str:
    previous = data.manifest.funnel.vs_previous_run
    if previous.previous_as_of is None or data.previous is None:
        return ("<section id='changes'><h2>Changes since the previous run</h2>"
                "<p class=muted>No earlier run in this output folder.</p></section>")
    removed = data.previous.join(data.scores.select("lead_id"), on="lead_id", how="anti").height
    transitions = list(previous.transitions.items())
    return (
        "<section id='changes'><h2>Changes since the previous run "
        f"({_e(previous.previous_as_of.isoformat())})</h2>"
        f"<p><b>{previous.changed:,}</b> leads changed stage, <b>{previous.new_leads:,}"
        f"</b> are new, <b>{removed:,}</b> are gone (merged or removed from the export).</p>"
        + _table(["stage change", "leads"], transitions, {1}) + "</section>")


def _distributions_section(scores: pl.DataFrame) -> str:
    edges = [float(e) for e in range(0, 101, 10)]
    s_labels, s_counts = _histogram(scores["priority_score"], edges, "{:.0f}")
    p_edges = [e / 20 for e in range(0, 11)]  # most leads sit low: 5-point bins up to 50%
    p_labels, p_counts = _histogram(scores["conversion_probability"].clip(0, 0.5), p_edges,
                                    "{:.0%}")
    p_labels = [f"{e:.0%}" for e in p_edges[:-1]]
    p_labels[-1] = "45%+"
    f_labels, f_counts = _histogram(scores["icp_fit"], edges, "{:.0f}")
    note = ("" if scores["conversion_probability"].null_count() < scores.height
            else "<p class=muted>No model: no probabilities this run.</p>")
    return (
        "<section id='distributions'><h2>Scores and probabilities</h2><div class='row'>"
        "<div><h3>Priority score (workable leads)</h3>"
        + bar_chart(s_labels, s_counts, width=360, title="priority score") + "</div>"
        "<div><h3>Conversion probability</h3>"
        + bar_chart(p_labels, p_counts, colour="#f2a03d", width=360, title="probability")
        + note + "</div>"
        "<div><h3>ICP fit</h3>"
        + bar_chart(f_labels, f_counts, colour="#3aa37a", width=360, title="ICP fit") + "</div>"
        "</div></section>")


def _icp_section(scores: pl.DataFrame) -> str:
    def rule_hits(column: str) -> pl.DataFrame:
        # Counted before the rule names become text: the report's rows may carry them as
        # categories (`scoring.report_rows`).
        return (scores.select(pl.col(column).alias("rule")).explode("rule").drop_nulls()
                .group_by("rule").agg(pl.len().alias("leads"))
                .with_columns(pl.col("rule").cast(pl.String)))

    hits = (
        pl.concat([rule_hits(c) for c in ("icp_matched", "icp_against") if c in scores.columns])
        .group_by("rule").agg(pl.col("leads").sum())
        .sort("leads", "rule", descending=[True, False]))
    total = scores.height or 1
    rows = [(r["rule"], r["leads"], _pct(r["leads"] / total)) for r in hits.iter_rows(named=True)]
    tiers = scores.group_by("icp_tier").agg(pl.len().alias("n")).sort("icp_tier")
    return (
        "<section id='icp'><h2>ICP rule hit rates</h2><div class='row'><div>"
        + _table(["rule (points)", "leads", "hit rate"], rows, {1, 2}) + "</div><div>"
        "<h3>Leads per ICP tier</h3>"
        + bar_chart(tiers["icp_tier"].to_list(), tiers["n"].to_list(), colour="#4f86c6",
                    width=300, title="ICP tiers")
        + "</div></div></section>")


def _model_section(manifest: RunManifest, card: ModelCard | None) -> str:
    if card is None:
        return ("<section id='model'><h2>Model</h2><p class=warn>No conversion model: "
                f"{_e(manifest.model.note)}. Stages come from rules and signals alone.</p>"
                "</section>")
    metrics = card.metrics
    rows: list[tuple[object, ...]] = []
    for name, m in metrics.validation_by_candidate.items():
        chosen = " (used)" if name == card.kind else ""
        rows.append((name + chosen, m.roc_auc, m.pr_auc, m.brier, m.log_loss,
                     m.lift_top_decile))
    baseline = metrics.rules_only_baseline.get("icp_fit")
    if baseline is not None:
        rows.append(("ICP fit alone (baseline)", baseline.roc_auc, baseline.pr_auc, "", "",
                     baseline.lift_top_decile))
    used = metrics.validation_by_candidate.get(card.kind)
    bins = used.calibration if used is not None else []
    window = " to ".join(card.data_window.validation_window)
    return (
        f"<section id='model'><h2>Model {_e(card.version)}</h2><div class='row'><div>"
        f"<p>{_e(card.kind)}, calibrated ({_e(card.calibration)}); predicts "
        f"{_e(card.label.event)} within {card.label.horizon_days} days. "
        f"Measured on later data ({_e(window)}), never seen in training.</p>"
        + _table(["model", "ROC-AUC", "PR-AUC", "Brier", "log-loss", "top-decile lift"], rows,
                 {1, 2, 3, 4, 5})
        + "</div><div><h3>Calibration: predicted vs observed</h3>"
        + (calibration_chart(bins) if bins else "<p class=muted>no calibration table</p>")
        + "</div></div></section>")


def _enrichment_section(scores: pl.DataFrame, manifest: RunManifest) -> str:
    enrichment = manifest.enrichment
    methods = [(m, v.count, _pct(v.rate)) for m, v in enrichment.by_method.items()]
    reasons = list(enrichment.unmatched_reasons.items())
    age = scores["firmographics_age_days"]
    edges = [0.0, 90.0, 180.0, 365.0, 730.0, 1e9]
    names = ["< 3 months", "3-6 months", "6-12 months", "1-2 years", "> 2 years"]
    _, counts = _histogram(age, edges, "{:.0f}")
    labels = [*names, "no data"]
    counts = [*counts, int(age.null_count())]
    return (
        "<section id='enrichment'><h2>Company data: coverage and freshness</h2>"
        f"<p>{_pct(enrichment.match_rate)} of leads matched to a company.</p>"
        "<div class='row'><div>"
        + _table(["match method", "leads", "share"], methods, {1, 2})
        + "<h3>Why leads were not matched</h3>"
        + _table(["reason", "leads"], reasons, {1}) + "</div><div>"
        "<h3>Age of the company data</h3>"
        + bar_chart(labels, counts, colour="#8fb3d9", width=440, title="data age")
        + "</div></div></section>")


def _quality_section(manifest: RunManifest) -> str:
    counts = [(source, c.read, ", ".join(f"{k} {v:,}" for k, v in c.buckets.items()))
              for source, c in manifest.counts.items()]
    quarantine = [(source, reason, rows)
                  for source, reasons in manifest.quarantine.by_source_and_reason.items()
                  for reason, rows in reasons.items()]
    return (
        "<section id='quality'><h2>Data quality</h2><p>Every input row is scored, merged into "
        "a duplicate or quarantined with a reason. "
        f"<b>{manifest.quarantine.rows:,}</b> rows quarantined, "
        f"{manifest.value_issues:,} values set aside as unreadable.</p>"
        "<div class='row'><div>"
        + _table(["source", "rows read", "where they went"], counts, {1})
        + "</div><div><h3>Quarantine reasons</h3>"
        + _table(["source", "reason", "rows"], quarantine, {2}) + "</div></div></section>")


def _movers_section(data: ReportInputs) -> str:
    if data.previous is None:
        return ("<section id='movers'><h2>Top movers</h2><p class=muted>No earlier run to "
                "compare with.</p></section>")
    before = data.previous.select(
        "lead_id", pl.col("recommended_stage").alias("stage_before"),
        pl.col("conversion_probability").alias("probability_before"))
    moved = (
        data.scores.join(before, on="lead_id", how="inner")
        .with_columns((pl.col("conversion_probability") - pl.col("probability_before"))
                      .alias("delta"))
        .filter(pl.col("delta").is_not_null() & (pl.col("delta") != 0))
    )

    def rows(frame: pl.DataFrame) -> list[tuple[object, ...]]:
        return [(r["lead_id"], r["company_name"], f"{r['stage_before']} → "
                 f"{r['recommended_stage']}", _pct(r["probability_before"]),
                 _pct(r["conversion_probability"]),
                 f"{'+' if r['delta'] > 0 else ''}{100 * r['delta']:.1f} pts",
                 "; ".join((r["reasons"] or [])[:2]))
                for r in frame.iter_rows(named=True)]

    headers = ["lead", "company", "stage", "before", "now", "change", "why"]
    up = moved.sort(["delta", "lead_id"], descending=[True, False]).head(TOP)
    down = moved.sort(["delta", "lead_id"]).head(TOP).filter(pl.col("delta") < 0)
    return (
        "<section id='movers'><h2>Top movers (conversion probability)</h2>"
        "<h3>Up</h3>" + _table(headers, rows(up.filter(pl.col("delta") > 0)), {3, 4, 5},
                              "wide")
        + "<h3>Down</h3>" + _table(headers, rows(down), {3, 4, 5}, "wide") + "</section>")


def _segment(scores: pl.DataFrame, column: str, label: str) -> str:
    grouped = (
        scores.group_by(pl.col(column).fill_null("(unknown)").alias("segment"))
        .agg(
            pl.len().alias("leads"),
            pl.col("recommended_stage").is_in(["prospect", "opportunity"]).sum().alias("work"),
            (pl.col("recommended_stage") == "opportunity").sum().alias("opportunities"),
            pl.col("conversion_probability").mean().alias("mean_p"),
            pl.col("icp_fit").mean().alias("mean_fit"),
        )
    )
    # Tiers read best in their order (A first); other segments biggest first.
    grouped = (grouped.sort("segment") if column == "icp_tier"
               else grouped.sort(["leads", "segment"], descending=[True, False])).head(TOP)
    rows = [(r["segment"], r["leads"], r["work"], r["opportunities"],
             _pct(r["mean_p"]), _n(round(r["mean_fit"], 1) if r["mean_fit"] is not None
                                   else None))
            for r in grouped.iter_rows(named=True)]
    return (f"<div><h3>By {label}</h3>"
            + _table([label, "leads", "to work", "opportunities", "avg probability",
                      "avg fit"], rows, {1, 2, 3, 4, 5}) + "</div>")


def _segments_section(scores: pl.DataFrame) -> str:
    parts = [_segment(scores, c, label) for c, label in
             (("icp_tier", "ICP tier"), ("industry", "industry"), ("country", "country"))
             if c in scores.columns]
    return "<section id='segments'><h2>Segments</h2><div class='row'>" + "".join(parts) + \
        "</div></section>"


def _call_first(scores: pl.DataFrame) -> str:
    top = scores.filter(pl.col("recommended_stage") == "opportunity").sort("priority").head(TOP)
    rows = [(r["priority"], r["lead_id"], r["company_name"], _n(r["icp_fit"]),
             _pct(r["conversion_probability"]), "; ".join((r["reasons"] or [])[:2]))
            for r in top.iter_rows(named=True)]
    return ("<section id='call-first'><h2>Call first: top opportunities</h2>"
            + _table(["#", "lead", "company", "fit", "probability", "why"], rows, {0, 3, 4},
                     "wide") + "</section>")


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f4f6f9;color:#1f2a37}
header{background:#1f3b5c;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85}
.kpis{display:flex;gap:12px;padding:14px 28px;flex-wrap:wrap}
.kpi{background:#fff;border-radius:8px;padding:10px 16px;box-shadow:0 1px 2px #0002;
min-width:130px}.kpi b{display:block;font-size:22px}.kpi span{color:#5b6776;font-size:12px}
section{background:#fff;margin:14px 28px;padding:14px 20px;border-radius:8px;
box-shadow:0 1px 2px #0002}h2{margin:0 0 10px;font-size:17px;color:#1f3b5c}
h3{font-size:13px;margin:10px 0 4px;color:#3d4b5c}
.row{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}
table{border-collapse:collapse;font-size:12.5px;margin:4px 0}
th,td{padding:3px 9px;border-bottom:1px solid #e3e7ed;text-align:left;vertical-align:top}
th{background:#f0f3f7;font-weight:600}td.num,th.num{text-align:right}
table.wide td:last-child{max-width:520px}.muted{color:#7a8594}.warn{color:#a33}
svg text{font-size:11px;fill:#334}svg text.l{font-size:10px}
svg text.v,svg text.l,svg text.in,svg text.conv{text-anchor:middle}
svg text.in{fill:#fff;font-weight:600;font-size:13px}
svg text.conv{fill:#5b6776;font-size:12px}svg text.side{font-size:14px}
svg .stage-name{font-weight:600}.side-panel{max-width:520px}svg .frame{fill:none;stroke:#ccd}
svg .diag{stroke:#999;stroke-dasharray:4 3}
footer{color:#7a8594;font-size:12px;padding:4px 28px 20px}
"""

# Sets data-js-errors on <html> for every script error, and data-rendered once the page ran.
_SENTINEL = ("<script>window.onerror=function(){var d=document.documentElement;"
             "d.dataset.jsErrors=String(Number(d.dataset.jsErrors||0)+1)};"
             "document.addEventListener('DOMContentLoaded',function(){"
             "document.documentElement.dataset.rendered='yes'});</script>")


def _kpis(data: ReportInputs) -> str:
    funnel = data.manifest.funnel
    stages = funnel.stages
    changed = funnel.vs_previous_run.changed
    items = [
        (f"{funnel.leads:,}", "leads scored"),
        (f"{stages.get('opportunity', 0):,}", "opportunities"),
        (f"{stages.get('prospect', 0):,}", "prospects"),
        (f"{changed:,}", "changed stage since last run"),
        (_pct(data.manifest.enrichment.match_rate, 0), "matched to a company"),
        (f"{data.manifest.quarantine.rows:,}", "rows quarantined"),
    ]
    return "<div class='kpis'>" + "".join(
        f"<div class='kpi'><b>{_e(v)}</b><span>{_e(k)}</span></div>" for v, k in items) + "</div>"


def render_html_report(data: ReportInputs) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    run = data.manifest.run
    model = data.manifest.model
    model_text = model.version if model.status == "model" else "none"
    as_of = run.as_of.isoformat()
    body = "".join([
        _kpis(data),
        _funnel_section(data),
        _call_first(data.scores),
        _changes_section(data),
        _distributions_section(data.scores),
        _model_section(data.manifest, data.card),
        _movers_section(data),
        _segments_section(data.scores),
        _icp_section(data.scores),
        _enrichment_section(data.scores, data.manifest),
        _quality_section(data.manifest),
    ])
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>leadscore report {as_of}</title>{_SENTINEL}<style>{_CSS}</style>"
        "</head><body>"
        f"<header><h1>Lead scoring report: as of {as_of}</h1>"
        f"<p>Model {_e(model_text)} · run {_e(run.run_id[:12])}</p></header>"
        f"{body}<footer>Generated by leadscore {_e(run.leadscore_version)}. "
        "Self-contained: no network needed.</footer></body></html>\n")
