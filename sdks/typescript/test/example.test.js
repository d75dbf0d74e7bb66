// The example against a live `tokenwatch serve` (scripts/sdk-test.sh starts one and sets
// TOKENWATCH_SDK_* to it): it authenticates, ingests simulated files and sees findings.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { delimiter, dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { createClient, createTokenwatchTransport } from "@tokenwatch/sdk";
import { IngestService } from "@tokenwatch/sdk/ingest/v1";

const here = dirname(fileURLToPath(import.meta.url));
const names = ["TOKENWATCH_SDK_SERVER", "TOKENWATCH_SDK_TOKEN", "TOKENWATCH_SDK_TENANT", "TOKENWATCH_SDK_FILES"];
const missing = names.filter((name) => !process.env[name]);
const skip = missing.length > 0 && `no live server (scripts/sdk-test.sh sets ${missing.join(", ")})`;

test("the example ingests and follows findings", { skip }, () => {
  const result = spawnSync(
    process.execPath,
    [
      join(here, "..", "examples", "ingest-and-watch.mjs"),
      "--server",
      process.env.TOKENWATCH_SDK_SERVER,
      "--tenant",
      process.env.TOKENWATCH_SDK_TENANT,
      "--findings",
      "2",
      "--timeout",
      "240",
      ...process.env.TOKENWATCH_SDK_FILES.split(delimiter),
    ],
    {
      env: { ...process.env, TOKENWATCH_TOKEN: process.env.TOKENWATCH_SDK_TOKEN },
      encoding: "utf8",
      timeout: 300_000,
    },
  );
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const lines = result.stdout.split("\n");
  assert.match(lines[0], /^ingested \d+ documents: \d+ accepted/);
  assert.ok(lines.filter((line) => line.startsWith("finding FINDING_CHANGE_")).length >= 2, result.stdout);
});

test("a bad token is refused", { skip }, async () => {
  const transport = createTokenwatchTransport({
    baseUrl: process.env.TOKENWATCH_SDK_SERVER,
    token: "not-a-token",
  });
  const ingest = createClient(IngestService, transport);
  await assert.rejects(
    ingest.getIngestStats({ tenantId: process.env.TOKENWATCH_SDK_TENANT }),
    (error) => error.code === 16, // Code.Unauthenticated
  );
});
