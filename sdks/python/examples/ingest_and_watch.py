"""Authenticate with a token, ingest export files for a tenant, follow the findings stream.

    TOKENWATCH_TOKEN=... python ingest_and_watch.py --server 127.0.0.1:50051 \\
        --tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 ual.json signins.json [--findings 1]

Files are sent on one IngestStream, a JSON array or a Graph page split into documents of
1,000 records (other files whole). The findings stream is opened first (it is live once its
headers arrive), so no finding the files cause is missed. Prints one line per finding and exits 0
after --findings of them, 1 if --timeout passes first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Iterator

import grpc

import tokenwatch
from tokenwatch.common.v1 import common_pb2
from tokenwatch.detection.v1 import detection_pb2, detection_pb2_grpc
from tokenwatch.ingest.v1 import ingest_pb2, ingest_pb2_grpc

RECORDS_PER_DOCUMENT = 1000


def documents(path: str) -> Iterator[ingest_pb2.Document]:
    """The file's records in documents of at most RECORDS_PER_DOCUMENT."""
    with open(path, "rb") as f:
        content = f.read()
    name = os.path.basename(path)
    try:
        parsed = json.loads(content)
    except ValueError:
        yield ingest_pb2.Document(content=content, source_name=name)
        return
    if isinstance(parsed, list):
        pages = [parsed[i : i + RECORDS_PER_DOCUMENT] for i in range(0, len(parsed), RECORDS_PER_DOCUMENT)]
    elif isinstance(parsed, dict) and isinstance(parsed.get("value"), list):
        records = parsed["value"]
        pages = [
            {"value": records[i : i + RECORDS_PER_DOCUMENT]}
            for i in range(0, len(records), RECORDS_PER_DOCUMENT)
        ]
    else:
        pages = [parsed]
    for page in pages:
        yield ingest_pb2.Document(content=json.dumps(page).encode(), source_name=name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("TOKENWATCH_SERVER", "127.0.0.1:50051"))
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--findings", type=int, default=1, help="stop after this many findings")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait in all")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    token = os.environ.get("TOKENWATCH_TOKEN")
    if not token:
        print("set TOKENWATCH_TOKEN to a bearer token (tokenwatch token issue ...)", file=sys.stderr)
        return 2
    server = args.server.removeprefix("http://")

    with tokenwatch.channel(server, token) as channel:
        detection = detection_pb2_grpc.DetectionServiceStub(channel)
        ingest = ingest_pb2_grpc.IngestServiceStub(channel)

        stream = detection.WatchFindings(
            detection_pb2.WatchFindingsRequest(tenant_id=args.tenant), timeout=args.timeout
        )
        stream.initial_metadata()

        requests = (
            ingest_pb2.IngestStreamRequest(tenant_id=args.tenant, document=document)
            for path in args.files
            for document in documents(path)
        )
        summary = ingest.IngestStream(requests, timeout=args.timeout).summary
        print(
            f"ingested {summary.documents} documents: {summary.accepted} accepted, "
            f"{summary.duplicates} duplicates, {summary.rejected} rejected",
            flush=True,
        )

        seen = 0
        try:
            for change in stream:
                finding = change.finding
                print(
                    f"finding {detection_pb2.FindingChange.Name(change.change)} "
                    f"{common_pb2.Severity.Name(finding.severity)} score {finding.score:.2f} "
                    f"user {finding.user_id} session {finding.session_id}: {finding.summary}",
                    flush=True,
                )
                seen += 1
                if seen >= args.findings:
                    stream.cancel()
                    return 0
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                print(f"timed out after {seen} findings", file=sys.stderr)
                return 1
            if error.code() != grpc.StatusCode.CANCELLED:
                raise
    return 0 if seen >= args.findings else 1


if __name__ == "__main__":
    sys.exit(main())
