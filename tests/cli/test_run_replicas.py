"""``papertape run --replicas``: how many processes of a service, and what each is told."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from papertape.cli.__main__ import build_parser
from papertape.cli.run import parse_replicas, service_specs
from papertape.common.servers import ServerUrls

URLS = ServerUrls("nats://127.0.0.1:1", "postgresql://h:2/x", "environment", "environment")


def test_replicas_are_named_per_service() -> None:
    assert parse_replicas("portfolio=2,execution=3") == {"portfolio": 2, "execution": 3}
    assert parse_replicas(" portfolio = 2 ") == {"portfolio": 2}


def test_each_replica_is_a_process_with_its_name_partitions_and_metrics_port() -> None:
    specs = service_specs(
        ["portfolio", "execution", "gateway"],
        URLS,
        "postgresql://h:2/x",
        replicas={"portfolio": 2},
        partitions=6,
    )
    assert [spec.name for spec in specs] == ["portfolio-1", "portfolio-2", "execution", "gateway"]
    first, second = specs[0].env, specs[1].env
    assert (first["PAPERTAPE_REPLICA"], second["PAPERTAPE_REPLICA"]) == (
        "portfolio-1",
        "portfolio-2",
    )
    assert first["PAPERTAPE_PARTITIONS"] == second["PAPERTAPE_PARTITIONS"] == "6"
    assert first["PAPERTAPE_METRICS_PORT"] == "0", "any free port: two replicas never collide"
    assert specs[0].argv == specs[1].argv
    assert "PAPERTAPE_REPLICA" not in specs[2].env, "one process of one partition, as ever"


def test_run_takes_replicas_and_partitions() -> None:
    args = build_parser().parse_args(["run", "--replicas", "portfolio=2,execution=2"])
    assert args.replicas == {"portfolio": 2, "execution": 2}
    assert args.partitions == 4
    assert build_parser().parse_args(["run", "--partitions", "8"]).partitions == 8


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--replicas", "portfolio=0", "portfolio=0: replicas go from 1 to 16"),
        ("--replicas", "portfolio=x", "'portfolio=x' is not SERVICE=COUNT"),
        ("--replicas", "portfolio", "'portfolio' is not SERVICE=COUNT"),
        ("--replicas", "gateway=2", "gateway cannot run as replicas; these can: portfolio"),
        ("--replicas", "nope=2", "nope cannot run as replicas"),
        ("--replicas", "portfolio=2,portfolio=3", "portfolio is named twice"),
        ("--partitions", "0", "partitions go from 1 to 16, not 0"),
        ("--partitions", "17", "partitions go from 1 to 16, not 17"),
    ],
)
def test_run_refuses_replicas_it_cannot_run_and_says_why(
    flag: str, value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["run", flag, value])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.slow
def test_papertape_run_starts_the_replicas_which_split_the_partitions_and_stop_cleanly(
    server_data_dir: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("NATS_URL", "DATABASE_URL"))}
    argv = ["run", "--replicas", "portfolio=2,execution=2", "--duration", "3"]
    argv += ["--service", "portfolio", "--service", "execution", "--max-crashes", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "papertape.cli", *argv],
        cwd=server_data_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "READY (portfolio-1, portfolio-2, execution-1, execution-2)" in output, output
    assert "lease bucket declared" in output, "the operator declares execution's leases"
    taken = re.findall(r"replica (portfolio-\d) took partition (\d)", output)
    assert {replica for replica, _k in taken} == {"portfolio-1", "portfolio-2"}, output
    assert "Traceback" not in output, output
    assert done.stdout.rstrip().endswith("stopped"), output[-2000:]
    assert "did not stop" not in output, "every replica stops within the stop timeout"
