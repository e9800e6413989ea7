"""The command line: help for every command, and user errors as one line with no traceback."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import COMMANDS as RUNNERS
from flows.cli import build_parser, main

# Every command the CLI dispatches, so a new one cannot go without help unnoticed.
COMMANDS = tuple(RUNNERS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: leadscore " + command in capsys.readouterr().out


def test_the_parser_offers_exactly_the_dispatched_commands() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == set(COMMANDS)


def test_profile_suggest_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["profile", "suggest", "--help"])
    assert exit_info.value.code == 0
    assert "usage: leadscore profile suggest" in capsys.readouterr().out


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


def test_bad_config_key_is_named_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "leadscore.toml"
    config.write_text("[icp]\nprospect_min_fitt = 50\n", encoding="utf-8")
    assert main(["score", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "icp.prospect_min_fitt: unknown key" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_config_that_is_not_toml_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[icp\n", encoding="utf-8")
    assert main(["train", "--config", str(config)]) == 2
    assert "broken.toml: not valid TOML" in capsys.readouterr().err


def test_missing_input_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--inputs", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_folder_without_leads_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "--inputs", str(tmp_path)]) == 2
    assert "no leads file" in capsys.readouterr().err


def test_bad_as_of_date_is_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["score", "--as-of", "2026-13-01"])
    assert exit_info.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_sample_command_writes_a_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "--leads", "200", "--seed", "3", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "leads.csv").is_file() and (tmp_path / "sample.json").is_file()
    assert "wrote a sample export" in capsys.readouterr().out


def test_sample_command_rejects_too_few_leads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sample", "--leads", "3", "--out", str(tmp_path)]) == 2
    assert "--leads must be at least" in capsys.readouterr().err


@pytest.mark.slow
def test_missing_required_column_names_file_and_column_without_traceback(
    tmp_path: Path, sample_dir: Path
) -> None:
    """A real process, so Prefect's own logging is part of what is checked."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    header, *rows = (sample_dir / "leads.csv").read_text(encoding="utf-8").splitlines()
    names = header.split(",")
    assert "lead_source" in names
    (inputs / "leads.csv").write_text(
        "\n".join([header.replace("created_at", "created"), *rows[:50]]) + "\n", encoding="utf-8"
    )
    (inputs / "activities.parquet").write_bytes((sample_dir / "activities.parquet").read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "score", "--inputs", str(inputs),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    assert "leads.csv: required column 'created_at' is missing" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_inputs_naming_a_file_says_it_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,created_at\nL1,2024-01-01\n", encoding="utf-8")
    assert main(["score", "--inputs", str(leads)]) == 2
    err = capsys.readouterr().err
    assert f"--inputs '{leads}' is a file" in err and "does not exist" not in err


def test_a_config_in_the_working_folder_is_announced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "leadscore.toml").write_text("[icp\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["score", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"using the config {tmp_path / 'leadscore.toml'} from the working folder" in err


@pytest.mark.parametrize("command", ["train", "score", "evaluate", "sample"])
@pytest.mark.parametrize("when", ["0001-01-01", "1989-12-31"])
def test_a_run_date_before_1990_is_rejected_by_the_parser(
    command: str, when: str, capsys: pytest.CaptureFixture[str]
) -> None:
    option = "--export-date" if command == "sample" else (
        "--split-date" if command == "evaluate" else "--as-of")
    extra = {"evaluate": ["--inputs", "data/sample"], "sample": ["--out", "x"]}.get(command, [])
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, *extra, option, when])
    assert exit_info.value.code == 2
    assert "before 1990-01-01" in capsys.readouterr().err


def test_backfill_with_the_end_before_the_start_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backfill", "--start", "2026-11-02", "--end", "2026-11-01"]) == 2
    assert "before --start" in capsys.readouterr().err


def test_backfill_with_an_unknown_model_exits_2_before_any_date_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["backfill", "--start", "2026-11-01", "--end", "2026-11-01",
                 "--model", "20990101-nope", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "20990101-nope" in capsys.readouterr().err
    assert not (tmp_path / "out" / "runs").exists()


def test_serve_without_a_prefect_server_exits_2_and_says_what_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    # Another test's Prefect test harness may still hold a server URL in this process's
    # settings; with one there, `serve` would really serve (and never return).
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert main(["serve", "--out", str(tmp_path / "out")]) == 2
    assert "prefect server start" in capsys.readouterr().err


@pytest.mark.parametrize(("options", "said"), [
    (["--workers", "2", "--dask-address", "tcp://127.0.0.1:8786"], "pass one of them"),
    (["--dask-address", "tcp://127.0.0.1:8786"], "--dask-address needs partitions"),
])
def test_conflicting_or_incomplete_dask_options_exit_2(
    options: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["score", "--out", str(tmp_path / "out"), *options]) == 2
    assert said in capsys.readouterr().err


def test_partitions_must_be_a_positive_whole_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "--partitions", "0"])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_workers_start_a_local_dask_cluster_with_a_partition_each() -> None:
    from prefect_dask.task_runners import DaskTaskRunner

    from flows.cli import _default_config, _scale

    args = build_parser().parse_args(["score", "--workers", "3"])
    partitions, runner = _scale(args, _default_config())
    assert partitions == 3
    assert isinstance(runner, DaskTaskRunner)
    assert runner.cluster_kwargs["n_workers"] == 3
    args = build_parser().parse_args(["score", "--partitions", "4"])
    assert _scale(args, _default_config()) == (4, None)
