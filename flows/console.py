"""What `leadscore` shows in the terminal: a progress line for long steps, a summary table.

Flows report the step they start through `step_started`; the CLI listens with `progress`, which
shows a spinner, the step and the elapsed time (on a terminal only: redirected output gets the
summary alone). The summary is a rich table of the funnel, the changes and the counts, with a
link to the HTML report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console, Group
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from features.schema import STAGES
from flows.catalog import output_folders
from scoring.records import RunManifest

# Set by the CLI while a flow runs in this process; flows call `step_started` at each step.
_listener: Callable[[str], None] | None = None

STEP_LABELS = {
    "read_and_validate": "reading and validating the inputs",
    "prepare": "merging duplicates and matching companies",
    "collect_inputs": "collecting the prepared inputs",
    "features": "building point-in-time features and ICP fit",
    "predict_and_explain": "conversion probabilities and reasons",
    "features_and_predict": "features, ICP fit and probabilities per partition",
    "recommend": "recommending stages and next actions",
    "write_scores": "writing the scores, change feed and CRM files",
    "write": "writing the report and the other outputs",
    "training_set": "building the labelled snapshots",
    "fit_and_select": "fitting and comparing the candidate models",
    "register": "writing the model and its card",
}


def step_started(step: str) -> None:
    """Tell whoever is listening (the CLI's progress line) that a flow step has started."""
    if _listener is not None:
        _listener(step)


@contextmanager
def progress(what: str, console: Console | None = None) -> Iterator[None]:
    """A spinner with `what`, the current step and the elapsed time, while the block runs."""
    global _listener
    console = console or Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(what)

        def show(step: str) -> None:
            bar.update(task, description=f"{what}: {STEP_LABELS.get(step, step)}")

        _listener = show
        try:
            yield
        finally:
            _listener = None


def report_link(out_root: str, as_of: str) -> str:
    path = (Path(out_root) / "reports" / f"as_of={as_of}" / "report.html").resolve()
    return path.as_uri()


def summary_table(manifest: RunManifest) -> Table:
    """Stage by stage: leads now, share, how many moved in since the previous run."""
    funnel = manifest.funnel
    stages = funnel.stages
    previous = funnel.vs_previous_run
    table = Table(title=f"{funnel.leads:,} leads scored as of {manifest.run.as_of}",
                  title_justify="left")
    table.add_column("stage")
    table.add_column("leads", justify="right")
    table.add_column("share", justify="right")
    table.add_column("moved in since the last run", justify="right")
    moved_in: dict[str, int] = {}
    for transition, n in previous.transitions.items():
        target = transition.split(" -> ")[-1]
        moved_in[target] = moved_in.get(target, 0) + n
    for stage in STAGES:
        count = stages.get(stage, 0)
        share = f"{100 * count / funnel.leads:.1f}%" if funnel.leads else "–"
        arrived = str(moved_in.get(stage, 0)) if previous.previous_as_of else "–"
        table.add_row(stage, f"{count:,}", share, arrived)
    return table


def _facts(manifest: RunManifest, out_root: str) -> Table:
    funnel = manifest.funnel
    previous = funnel.vs_previous_run
    leads = manifest.counts["leads"]
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("vs CRM stage", ", ".join(f"{n:,} {k}" for k, n in funnel.vs_crm.items()))
    if previous.previous_as_of:
        facts.add_row(f"since {previous.previous_as_of}",
                      f"{previous.changed:,} changed stage, {previous.new_leads:,} new")
    else:
        facts.add_row("since last run", "no earlier run in this output folder")
    if manifest.changes is not None and manifest.changes.previous_as_of is not None:
        facts.add_row("change feed", ", ".join(
            f"{n:,} {change}" for change, n in manifest.changes.counts.items()))
    model = manifest.model
    facts.add_row("model", str(model.version) if model.status == "model"
                  else f"[red]none: {model.note}; every row says so[/red]")
    quarantined = leads.rows("quarantined_by_validation") + leads.rows("created_after_as_of")
    facts.add_row("leads in", f"{leads.read:,} = {leads.rows('scored'):,} scored + "
                  f"{leads.rows('merged'):,} merged duplicates + {quarantined:,} quarantined")
    for warning in manifest.warnings:
        facts.add_row("[red]warning[/red]", warning)
    if manifest.duplicates.needs_review:
        facts.add_row("[red]to review[/red]",
                      f"{manifest.duplicates.needs_review:,} merged duplicates (different names "
                      "on one free-mail address): see needs_review in duplicates/")
    facts.add_row("config", str(manifest.config.path))
    exports = [f"{v.path.rsplit('/', 1)[-1]} ({v.rows or 0:,} rows)"
               for v in manifest.outputs.values() if v.path.startswith("exports/")]
    if exports:
        facts.add_row("CRM import files", ", ".join(exports))
    as_of = manifest.run.as_of.isoformat()
    facts.add_row("outputs", f"{out_root}/{output_folders()}/as_of={as_of}/")
    link = report_link(out_root, as_of)
    facts.add_row("report", f"[link={link}]{link}[/link]")
    return facts


def print_summary(manifest: RunManifest, out_root: str, console: Console | None = None) -> None:
    """The end-of-run summary: the funnel table, then the facts and the report link."""
    console = console or Console(soft_wrap=True)
    console.print(Group(summary_table(manifest), _facts(manifest, out_root)))
