#!/usr/bin/env python3
"""Carves small fuzz seeds out of the public samples in ../shared/datasets (never committed:
they are others' data). Usage: fuzz-seeds-from-datasets.py DATASETS OUT"""
import csv, gzip, io, json, os, random, sys

datasets, out = sys.argv[1], sys.argv[2]
random.seed(7)
MAX_BYTES = 16 * 1024


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_BYTES:
        return
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def path(*parts):
    p = os.path.join(datasets, *parts)
    return p if os.path.exists(p) else None


def records_of(p):
    opener = gzip.open if p.endswith(".gz") else open
    with opener(p, "rt", encoding="utf-8-sig") as f:
        text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(l) for l in text.splitlines() if l.strip()]
    pages = data if isinstance(data, list) else [data]
    records = []
    for page in pages:
        items = (page.get("value") or page.get("records")) if isinstance(page, dict) else None
        records.extend(items if isinstance(items, list) else [page])
    return records


def groups(records, target, prefix, count=15, wrap=None):
    if not records:
        return
    for i in range(count):
        picked = random.sample(records, min(len(records), random.randint(1, 4)))
        body = wrap(picked) if wrap else picked
        text = json.dumps(body) if i % 3 else "\n".join(json.dumps(r) for r in picked)
        put(target, f"{prefix}-{i}.json", text)
        put("document", f"{prefix}-{i}.json", text)
        put("record_splitter", f"{prefix}-{i}.json", text)


def csv_slices(p, target, prefix, count=8):
    with open(p, encoding="utf-8-sig", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    if len(lines) < 2:
        return
    for i in range(count):
        body = [lines[0]] + random.sample(lines[1:], min(len(lines) - 1, random.randint(1, 3)))
        put(target, f"{prefix}-{i}.csv", "".join(body))
        put("document", f"{prefix}-{i}.csv", "".join(body))


if p := path("m365-sessions-dev", "ual.json.gz"):
    groups(records_of(p)[:5000], "management_activity", "dev-ual")
if p := path("m365-sessions-dev", "signins.json.gz"):
    signins = records_of(p)[:5000]
    groups(signins, "graph_signins", "dev-signins", wrap=lambda r: {"value": r, "@odata.nextLink": "https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x"})
    agents = {s.get("userAgent") for s in signins if s.get("userAgent")}
    for i, agent in enumerate(sorted(agents)[:40]):
        put("user_agent", f"dev-{i}.txt", agent)
if p := path("otrf-security-datasets-goldensaml", "OfficeActivityEvents.json"):
    groups(records_of(p), "management_activity", "otrf-office")
if p := path("otrf-security-datasets-goldensaml", "AADAuditEvents.jsonl"):
    groups(records_of(p), "azure_monitor", "otrf-aad", wrap=lambda r: {"records": r})
for name in ("Microsoft365_Audit_AzureActiveDirectory", "Microsoft365_Audit_Exchange", "Microsoft365_Audit_SharePoint"):
    if p := path("panther-analysis-test-events", f"{name}.test_events.jsonl"):
        logs = [r.get("log", r) for r in records_of(p)]
        groups(logs, "management_activity", f"panther-{name}", count=6)
if p := path("panther-analysis-test-events", "Azure_Audit.test_events.jsonl"):
    groups([r.get("log", r) for r in records_of(p)], "azure_monitor", "panther-azure", count=6)
for name in ("signinLogs", "sign-in_adelete"):
    if p := path("azure-sentinel-training-lab", f"{name}.csv"):
        csv_slices(p, "sentinel", f"lab-{name}")
for name in ("office_activity", "office_activity_inbox_rule"):
    if p := path("azure-sentinel-training-lab", f"{name}.csv"):
        csv_slices(p, "purview_csv", f"lab-{name}")
        csv_slices(p, "sentinel", f"lab-{name}")
print(f"carved {sum(len(files) for _, _, files in os.walk(out))} seeds into {out}")
