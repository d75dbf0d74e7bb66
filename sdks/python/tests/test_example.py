"""The example against a live `tokenwatch serve` (scripts/sdk-test.sh starts one and sets
TOKENWATCH_SDK_* to it): it authenticates, ingests simulated files and sees findings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "ingest_and_watch.py")


def live() -> dict[str, str]:
    names = ["TOKENWATCH_SDK_SERVER", "TOKENWATCH_SDK_TOKEN", "TOKENWATCH_SDK_TENANT", "TOKENWATCH_SDK_FILES"]
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"no live server (scripts/sdk-test.sh sets {', '.join(missing)})")
    return {n: os.environ[n] for n in names}


def test_the_example_ingests_and_follows_findings() -> None:
    env = live()
    result = subprocess.run(
        [
            sys.executable,
            EXAMPLE,
            "--server",
            env["TOKENWATCH_SDK_SERVER"],
            "--tenant",
            env["TOKENWATCH_SDK_TENANT"],
            "--findings",
            "2",
            "--timeout",
            "240",
            *env["TOKENWATCH_SDK_FILES"].split(os.pathsep),
        ],
        env={**os.environ, "TOKENWATCH_TOKEN": env["TOKENWATCH_SDK_TOKEN"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ingested "), lines
    assert " 0 accepted" not in lines[0], lines[0]
    findings = [line for line in lines if line.startswith("finding FINDING_CHANGE_")]
    assert len(findings) >= 2, result.stdout


def test_a_bad_token_is_refused() -> None:
    env = live()
    import grpc

    import tokenwatch
    from tokenwatch.ingest.v1 import ingest_pb2, ingest_pb2_grpc

    with tokenwatch.channel(env["TOKENWATCH_SDK_SERVER"].removeprefix("http://"), "not-a-token") as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest(tenant_id=env["TOKENWATCH_SDK_TENANT"]))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
