"""`leadscore`: the command line. Every command has --help.

User errors (a missing file or column, a bad config key, an unusable model) print one line on
stderr and exit with status 2, without a traceback. Anything else is a bug: it prints the
traceback and exits 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from features.errors import LeadscoreError
from features.ingest.validate import EARLIEST_PLAUSIBLE_DATE
from flows import PROJECT_ROOT
from scoring.records import TrainingResult

SAMPLE_INPUTS = PROJECT_ROOT / "data" / "sample"
BUNDLED_CONFIG = PROJECT_ROOT / "data" / "leadscore.toml"
USER_ERROR = 2


class UsageError(LeadscoreError):
    """A bad command-line value."""


def _as_of(text: str) -> date:
    try:
        when = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    # No input record is older (features.ingest.validate); training windows reach further back
    # still, and dates near year 1 overflow.
    if when < EARLIEST_PLAUSIBLE_DATE:
        raise argparse.ArgumentTypeError(f"{text} is before {EARLIEST_PLAUSIBLE_DATE}: not a "
                                         "plausible run date")
    return when


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _add_scale_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partitions", type=_at_least_one, default=None, metavar="N",
                        help="prepare and score the leads in N partitions (same output; memory "
                             "bounded by a partition); default: [run].partitions of the "
                             "config (1), or --workers")
    parser.add_argument("--workers", type=_at_least_one, default=None, metavar="N",
                        help="run the partitions in parallel on a local Dask cluster of N "
                             "workers")
    parser.add_argument("--dask-address", default=None, metavar="tcp://HOST:PORT",
                        help="run the partitions on an existing Dask cluster (its scheduler's "
                             "address); inputs and --out must be on storage every worker reads")


def _default_config() -> Path:
    """`leadscore.toml` in the working folder if there is one, else the bundled default.

    A stray `./leadscore.toml` changes every stage, so picking it up is said on stderr."""
    local = Path("leadscore.toml")
    if local.is_file():
        print(f"leadscore: using the config {local.resolve()} from the working folder "
              "(--config chooses another)", file=sys.stderr)
        return local
    return BUNDLED_CONFIG


def _add_run_options(parser: argparse.ArgumentParser, as_of: bool = True) -> None:
    if as_of:
        parser.add_argument("--as-of", type=_as_of, default=None,
                            help="the date to run for, YYYY-MM-DD (default: today, UTC); only "
                                 "data known before this date is used")
    parser.add_argument("--inputs", type=Path, default=SAMPLE_INPUTS,
                        help="folder with leads, activities, opportunities, companies, "
                             "company_events (.csv or .parquet); default: the bundled sample")
    parser.add_argument("--config", type=Path, default=None,
                        help="TOML config (default: ./leadscore.toml if present, else the "
                             "bundled data/leadscore.toml)")
    parser.add_argument("--out", type=Path, default=Path("out"),
                        help="output root (default: out/)")
    parser.add_argument("--models", type=Path, default=None,
                        help="model registry folder (default: <out>/models)")
    parser.add_argument("--profile", default=None, metavar="NAME|PATH",
                        help="mapping profile of the CRM export: a preset (generic, hubspot, "
                             "salesforce, pipedrive, ...) or a TOML file; default: canonical "
                             "column names")


def _crm_list(text: str) -> tuple[str, ...]:
    from features.errors import ConfigError
    from scoring.crm_exports import parse_crm_list

    try:
        return parse_crm_list(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--crm: ")) from None


def _add_export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--crm", type=_crm_list, default=None, metavar="NAME[,NAME...]",
                        help="CRM import files to write: generic, hubspot, salesforce, "
                             "pipedrive (default: the config's [export] crm)")
    parser.add_argument("--hash-pii", action="store_true", default=None,
                        help="replace emails and phone numbers with keyed hashes in every "
                             "output but the CRM import files (key: the environment variable "
                             "named by [export] pii_key_env, LEADSCORE_PII_KEY by default)")


def _add_profile_command(commands: argparse._SubParsersAction[Any]) -> None:
    profile = commands.add_parser("profile", help="mapping profiles for CRM exports",
                                  description="Mapping profiles: how a CRM export's columns "
                                              "map to the canonical ones.")
    actions = profile.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    suggest = actions.add_parser("suggest", help="draft a profile for an export file",
                                 description="Read an export's header and first rows and print "
                                             "a draft profile (TOML) to check and edit.")
    suggest.add_argument("file", type=Path, metavar="FILE", help="the export (CSV or Parquet)")
    suggest.add_argument("--source", default="leads",
                         choices=("leads", "activities", "opportunities", "companies",
                                  "company_events"),
                         help="which input the file is (default: leads)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadscore",
        description="Score CRM leads: funnel stage, next action, priority and reasons.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sample = commands.add_parser("sample", help="write a synthetic CRM export to a folder",
                                 description="Write synthetic leads, activities, "
                                             "opportunities, companies and company events.")
    sample.add_argument("--leads", type=int, default=3000, help="number of lead rows")
    sample.add_argument("--seed", type=int, default=7, help="random seed (same seed, same files)")
    sample.add_argument("--out", type=Path, required=True, help="folder to write")
    sample.add_argument("--export-date", type=_as_of, default=date(2026, 11, 1),
                        help="the export's date: every record is dated before it "
                             "(default 2026-11-01)")

    train = commands.add_parser("train", help="train and register a conversion model",
                                description="Build point-in-time training snapshots, compare "
                                            "candidate models on later data, register the best.")
    _add_run_options(train)
    train.add_argument("--force", action="store_true",
                       help="make the new model current even if it is worse than the current")

    score = commands.add_parser("score", help="score every lead as of a date",
                                description="The nightly run: stage, next action, priority and "
                                            "reasons per lead, written under --out.")
    _add_run_options(score)
    _add_changes_only(score)
    _add_export_options(score)
    _add_scale_options(score)
    _add_backfill_command(commands)
    _add_serve_command(commands)

    demo = commands.add_parser("demo", help="train and score on the bundled sample",
                               description="Train on the bundled sample, then score it a week "
                                           "before and on its export date, and print the funnel.")
    demo.add_argument("--out", type=Path, default=Path("out"), help="output root (default: out/)")
    _add_profile_command(commands)
    _add_evaluate_command(commands)
    return parser


def _add_changes_only(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--changes-only", action="store_true",
                        help="also write exports/as_of=D/leads_for_crm_changes.csv: only the "
                             "leads that are new or changed stage since the previous run")


def _add_backfill_command(commands: argparse._SubParsersAction[Any]) -> None:
    backfill = commands.add_parser(
        "backfill", help="re-run a range of past dates",
        description="Score each date from --start to --end as the nightly run would have that "
                    "day: features as of the date, the model current on it (from the "
                    "registry's promotion history; rules only before the first model) unless "
                    "--model names one. Dates already complete are skipped unless --force. "
                    "Exits 1 if any date failed.")
    backfill.add_argument("--start", type=_as_of, required=True, help="first date, YYYY-MM-DD")
    backfill.add_argument("--end", type=_as_of, required=True, help="last date, YYYY-MM-DD")
    backfill.add_argument("--every", type=_at_least_one, default=1, metavar="N",
                          help="every N days (default 1)")
    backfill.add_argument("--force", action="store_true",
                          help="re-run dates that already have a complete run")
    backfill.add_argument("--workers", type=_at_least_one, default=2, metavar="N",
                          help="dates run at the same time (default 2)")
    backfill.add_argument("--model", default=None, metavar="VERSION",
                          help="use this registered model version for every date")
    _add_run_options(backfill, as_of=False)
    backfill.set_defaults(as_of=None)
    _add_changes_only(backfill)
    _add_export_options(backfill)


def _add_serve_command(commands: argparse._SubParsersAction[Any]) -> None:
    serve = commands.add_parser(
        "serve", help="serve the nightly deployment against a Prefect server",
        description="Serve the `score` flow as deployment 'nightly' on the [schedule] of the "
                    "config (cron and time zone), and `backfill` as deployment 'backfill' "
                    "(run from the Prefect UI or `prefect deployment run` with start and end). "
                    "Needs PREFECT_API_URL pointing at a server (`prefect server start`).")
    _add_run_options(serve, as_of=False)
    serve.set_defaults(as_of=None)
    _add_changes_only(serve)
    _add_export_options(serve)


def _folds(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"needs at least 2 folds, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _add_evaluate_command(commands: argparse._SubParsersAction[Any]) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="measure the model on your own data (nothing is registered)",
        description="Train and measure the candidate models on data they did not see. Either "
                    "one table with an outcome column (--input FILE --profile P; the profile's "
                    "[evaluate] section names the outcome and the columns to leave out), or the "
                    "canonical input folder (--inputs DIR --split-date D). Prints metrics JSON.",
    )
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="a single-table export with an outcome column")
    source.add_argument("--inputs", type=Path, help="a folder of canonical (or profiled) inputs")
    evaluate.add_argument("--profile", default=None, metavar="NAME|PATH",
                          help="mapping profile (a preset or a TOML path); required with --input, "
                               "where only its [evaluate] section and reading options apply: "
                               "the table keeps the export's own column names")
    evaluate.add_argument("--split-date", type=_as_of, default=None,
                          help="train before this date, measure from it (with --input: on the "
                               "profile's date column; required with --inputs)")
    evaluate.add_argument("--holdout-last", type=_fraction, default=None, metavar="FRACTION",
                          help="with --input and rows in time order: measure on the last "
                               "FRACTION of rows")
    evaluate.add_argument("--folds", type=_folds, default=5,
                          help="cross-validation folds when there is no split (default 5)")
    evaluate.add_argument("--as-of", type=_as_of, default=None,
                          help="with --inputs: the date the data is known up to "
                               "(default: today, UTC)")
    evaluate.add_argument("--config", type=Path, default=None,
                          help="TOML config (default: ./leadscore.toml or the bundled one)")
    evaluate.add_argument("--seed", type=int, default=None,
                          help="random seed of folds and models (default: the config's "
                               "model.seed)")
    evaluate.add_argument("--output", type=Path, default=None,
                          help="also write the metrics JSON to this file")


def _quiet_user_errors() -> None:
    """Keep Prefect from printing tracebacks of user errors: the CLI prints one line instead."""

    class _DropUserErrors(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            exc = record.exc_info[1] if record.exc_info else None
            if isinstance(exc, LeadscoreError):
                return False
            message = record.getMessage()
            return not (message.startswith("Finished in state Failed") and
                        any(n in message for n in _USER_ERROR_NAMES))

    # Records are filtered where they are made: the flow and task run loggers.
    for name in ("prefect.flow_runs", "prefect.task_runs", "prefect.flow_engine",
                 "prefect.task_engine"):
        logging.getLogger(name).addFilter(_DropUserErrors())


_USER_ERROR_NAMES = ("InputError", "ConfigError", "ModelError", "UsageError", "OutputError")


def _run_sample(args: argparse.Namespace) -> int:
    from samplegen import MIN_LEADS, write_sample

    if args.leads < MIN_LEADS:
        raise UsageError(f"--leads must be at least {MIN_LEADS}")
    _check_output_folder(args.out, "--out")
    info = write_sample(args.out, leads=args.leads, seed=args.seed, export_date=args.export_date)
    rows = ", ".join(f"{n} {k}" for k, n in info["rows"].items())
    print(f"leadscore: wrote a sample export to {args.out} ({rows}); "
          f"everything dated before {info['export_date']}")
    return 0


@dataclass(frozen=True)
class FlowArguments:
    """What `score` and `train` are run on, from the command line."""

    as_of: date | None
    inputs: Path
    config: Path
    out: Path
    models: Path | None
    profile: str | None


def _flow_arguments(args: argparse.Namespace) -> FlowArguments:
    return FlowArguments(as_of=args.as_of, inputs=args.inputs,
                         config=args.config or _default_config(), out=args.out,
                         models=args.models, profile=args.profile)


def _check_output_folder(path: Path, option: str) -> None:
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: exists and is not a folder")


def _preflight(arguments: FlowArguments) -> None:
    """Fail fast on a bad config, profile or missing inputs, before Prefect starts its local
    server."""
    from flows.catalog import load_config, locate_source
    from flows.profiles import load_profile

    load_config(arguments.config)
    _check_output_folder(arguments.out, "--out")
    if arguments.models is not None:
        _check_output_folder(arguments.models, "--models")
    profile = load_profile(arguments.profile)
    if locate_source(arguments.inputs, "leads", profile) is None:
        expected = profile.leads.file or "leads.csv or leads.parquet"
        raise UsageError(f"{arguments.inputs}: no leads file ({expected})")


def _preflight_export(config: Path, crm: tuple[str, ...] | None, hash_pii: bool | None) -> None:
    """A missing PII key fails before Prefect starts, like a bad config."""
    from flows.catalog import load_config
    from flows.exports import export_settings, pii_key

    cfg, _ = load_config(config)
    pii_key(export_settings(cfg, crm, hash_pii))


def _print_training(result: TrainingResult) -> None:
    if result.status != "trained" or result.metrics is None or result.kind is None:
        print(f"leadscore train: NOT TRAINED as of {result.as_of.isoformat()}: "
              f"{result.message}. `score` will recommend from rules alone and mark every row.")
        return
    chosen = result.metrics.validation_by_candidate[result.kind]
    baseline = result.metrics.rules_only_baseline["icp_fit"]
    why = result.promotion.why if result.promotion else ""
    state = "now current" if result.current else f"NOT current: {why}"
    print(f"leadscore train: model {result.version} ({result.kind}), {state}")
    print(f"  validation (later data): ROC-AUC {chosen.roc_auc}, PR-AUC {chosen.pr_auc}, "
          f"Brier {chosen.brier}, log-loss {chosen.log_loss}, "
          f"top-decile lift {chosen.lift_top_decile}")
    print(f"  rules-only ICP baseline: ROC-AUC {baseline.roc_auc}, "
          f"top-decile lift {baseline.lift_top_decile}")
    print(f"  model card: {result.model_folder}/card.md")


def _run_train(args: argparse.Namespace) -> int:
    arguments = _flow_arguments(args)
    _preflight(arguments)
    from flows.console import progress
    from flows.runtime import prefect_runtime
    from flows.train import train_flow

    with prefect_runtime(), progress("training"):
        _quiet_user_errors()
        result = train_flow(as_of=arguments.as_of, inputs=arguments.inputs,
                            config=arguments.config, out=arguments.out,
                            models=arguments.models, profile=arguments.profile,
                            force=args.force)
    _print_training(result)
    print(f"  config: {arguments.config}")
    return 0


def _scale(args: argparse.Namespace, config: Path) -> tuple[int | None, Any]:
    """The number of partitions and the Dask task runner (or None) `score` runs with."""
    from flows.catalog import load_config
    from flows.partitioned import dask_task_runner

    if args.workers is not None and args.dask_address is not None:
        raise UsageError("--workers starts a local Dask cluster, --dask-address uses an "
                         "existing one: pass one of them")
    partitions = args.partitions
    if partitions is None and (args.workers or args.dask_address):
        # As many partitions as local workers at least, so that every worker has one.
        partitions = max(load_config(config)[0].run.partitions, args.workers or 1)
        if args.dask_address and partitions < 2:
            raise UsageError("--dask-address needs partitions to run: pass --partitions N "
                             "(N of 2 or more) or set [run].partitions")
    return partitions, dask_task_runner(args.workers, args.dask_address)


def _run_score(args: argparse.Namespace) -> int:
    arguments = _flow_arguments(args)
    _preflight(arguments)
    _preflight_export(arguments.config, args.crm, args.hash_pii)
    from flows.console import print_summary, progress
    from flows.runtime import prefect_runtime
    from flows.score import score_flow

    partitions, runner = _scale(args, arguments.config)
    with prefect_runtime(), progress("scoring"):
        _quiet_user_errors()
        run = score_flow if runner is None else score_flow.with_options(task_runner=runner)
        manifest = run(as_of=arguments.as_of, inputs=arguments.inputs,
                       config=arguments.config, out=arguments.out,
                       models=arguments.models, profile=arguments.profile,
                       changes_only=args.changes_only, crm=args.crm,
                       hash_pii=args.hash_pii, partitions=partitions)
    print_summary(manifest, str(args.out))
    return 0


def _run_backfill(args: argparse.Namespace) -> int:
    arguments = _flow_arguments(args)
    _preflight(arguments)
    from flows.backfill import backfill_dates, summary_table

    dates = backfill_dates(args.start, args.end, args.every)
    if args.model is not None:
        from flows.registry import read_card

        read_card(args.models or args.out / "models", args.model)  # exits 2 if unknown
    from flows.backfill import backfill_flow
    from flows.runtime import prefect_runtime

    print(f"leadscore backfill: {len(dates)} dates from {dates[0]} to {dates[-1]}, "
          f"{args.workers} at a time")
    with prefect_runtime():
        _quiet_user_errors()
        result = backfill_flow(start=args.start, end=args.end, every=args.every,
                               force=args.force, workers=args.workers, model=args.model,
                               inputs=arguments.inputs, config=arguments.config,
                               out=arguments.out, models=arguments.models,
                               profile=arguments.profile, changes_only=args.changes_only,
                               crm=args.crm, hash_pii=args.hash_pii, show_progress=True)
    print(summary_table(result))
    failed = result.failed
    if failed:
        print(f"leadscore backfill: {len(failed)} of {len(dates)} dates failed: "
              + ", ".join(str(d.as_of) for d in failed), file=sys.stderr)
        return 1
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    arguments = _flow_arguments(args)
    _preflight(arguments)
    from flows.catalog import load_config
    from flows.serve import serve_nightly

    cfg, _ = load_config(arguments.config)
    serve_nightly({"inputs": arguments.inputs, "config": arguments.config, "out": arguments.out,
                   "models": arguments.models, "profile": arguments.profile,
                   "changes_only": args.changes_only, "crm": args.crm,
                   "hash_pii": args.hash_pii}, cfg.schedule)
    return 0


def _sample_export_date() -> date:
    info = json.loads((SAMPLE_INPUTS / "sample.json").read_text(encoding="utf-8"))
    return date.fromisoformat(info["export_date"])


def _run_demo(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from flows.console import print_summary, progress
    from flows.runtime import prefect_runtime
    from flows.score import score_flow
    from flows.train import train_flow

    as_of = _sample_export_date()
    _check_output_folder(args.out, "--out")
    print(f"leadscore demo: the bundled sample, exported {as_of}; outputs under {args.out}/")
    with prefect_runtime():
        _quiet_user_errors()
        with progress("training"):
            trained = train_flow(as_of=as_of, inputs=SAMPLE_INPUTS, config=BUNDLED_CONFIG,
                                 out=args.out)
        _print_training(trained)
        for day in (as_of - timedelta(days=7), as_of):
            with progress(f"scoring as of {day}"):
                manifest = score_flow(as_of=day, inputs=SAMPLE_INPUTS, config=BUNDLED_CONFIG,
                                      out=args.out)
    print_summary(manifest, str(args.out))
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from flows.catalog import load_config
    from flows.evaluate import evaluate_canonical, evaluate_table, with_seed
    from flows.profiles import load_profile

    config = args.config or _default_config()
    cfg, _ = load_config(config)
    cfg = with_seed(cfg, args.seed)
    if args.input is not None:
        if not args.profile:
            raise UsageError("--input needs --profile (its [evaluate] section names the outcome)")
        if not args.input.is_file():
            raise UsageError(f"{args.input}: file not found")
        report = evaluate_table(args.input, load_profile(args.profile), cfg,
                                split_date=args.split_date, holdout_last=args.holdout_last,
                                folds=args.folds)
    else:
        if args.split_date is None:
            raise UsageError("--inputs needs --split-date")
        if args.holdout_last is not None:
            raise UsageError("--holdout-last is for --input (a single table); --inputs splits "
                             "by --split-date")
        load_profile(args.profile)
        as_of = args.as_of or datetime.now(UTC).date()
        report = evaluate_canonical(args.inputs, config, as_of=as_of,
                                    split_date=args.split_date, profile=args.profile,
                                    seed=args.seed)
    text = json.dumps(report, indent=2, default=str)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def _run_profile(args: argparse.Namespace) -> int:
    from flows.profiles import suggest_profile

    print(suggest_profile(args.file, args.source), end="")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "sample": _run_sample,
    "train": _run_train,
    "score": _run_score,
    "demo": _run_demo,
    "backfill": _run_backfill,
    "serve": _run_serve,
    "profile": _run_profile,
    "evaluate": _run_evaluate,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LeadscoreError as exc:
        print(f"leadscore {args.command}: error: {exc}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print("leadscore: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
