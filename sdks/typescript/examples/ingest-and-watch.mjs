// Authenticate with a token, ingest export files for a tenant, follow the findings stream.
//
//   TOKENWATCH_TOKEN=... node examples/ingest-and-watch.mjs --server http://127.0.0.1:50051 \
//       --tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 ual.json signins.json [--findings 1]
//
// Files go out on one IngestStream, a JSON array or a Graph page split into documents of 1,000
// records (other files whole). The findings stream is opened first (it is live once its headers
// arrive), so no finding the files cause is missed. Prints one line per finding; exits 0 after
// --findings of them, 1 if --timeout seconds pass first.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";

import { createClient, createTokenwatchTransport } from "@tokenwatch/sdk";
import { Severity } from "@tokenwatch/sdk/common/v1";
import { DetectionService, FindingChange } from "@tokenwatch/sdk/detection/v1";
import { IngestService } from "@tokenwatch/sdk/ingest/v1";

const RECORDS_PER_DOCUMENT = 1000;

function* documents(path) {
  const content = readFileSync(path);
  const sourceName = basename(path);
  let parsed;
  try {
    parsed = JSON.parse(content.toString("utf8"));
  } catch {
    yield { content, sourceName };
    return;
  }
  const chunk = (records, wrap) => {
    const pages = [];
    for (let i = 0; i < records.length; i += RECORDS_PER_DOCUMENT) {
      pages.push(wrap(records.slice(i, i + RECORDS_PER_DOCUMENT)));
    }
    return pages;
  };
  const pages = Array.isArray(parsed)
    ? chunk(parsed, (records) => records)
    : Array.isArray(parsed?.value)
      ? chunk(parsed.value, (records) => ({ value: records }))
      : [parsed];
  for (const page of pages) {
    yield { content: new TextEncoder().encode(JSON.stringify(page)), sourceName };
  }
}

async function main() {
  const { values, positionals: files } = parseArgs({
    allowPositionals: true,
    options: {
      server: { type: "string", default: process.env.TOKENWATCH_SERVER ?? "http://127.0.0.1:50051" },
      tenant: { type: "string" },
      findings: { type: "string", default: "1" },
      timeout: { type: "string", default: "300" },
    },
  });
  const token = process.env.TOKENWATCH_TOKEN;
  if (!token || !values.tenant || files.length === 0) {
    console.error("usage: TOKENWATCH_TOKEN=... ingest-and-watch.mjs --tenant T [--server URL] FILE...");
    return 2;
  }
  const wanted = Number(values.findings);
  const transport = createTokenwatchTransport({ baseUrl: values.server, token });
  const detection = createClient(DetectionService, transport);
  const ingest = createClient(IngestService, transport);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Number(values.timeout) * 1000);

  let opened;
  const live = new Promise((resolve) => (opened = resolve));
  const stream = detection.watchFindings(
    { tenantId: values.tenant },
    { signal: abort.signal, onHeader: () => opened() },
  );
  const iterator = stream[Symbol.asyncIterator]();
  const first = iterator.next();
  await Promise.race([live, first]);

  async function* requests() {
    for (const file of files) {
      for (const document of documents(file)) {
        yield { tenantId: values.tenant, document };
      }
    }
  }
  const { summary } = await ingest.ingestStream(requests(), { signal: abort.signal });
  console.log(
    `ingested ${summary.documents} documents: ${summary.accepted} accepted, ` +
      `${summary.duplicates} duplicates, ${summary.rejected} rejected`,
  );

  let seen = 0;
  try {
    for (let next = await first; !next.done; next = await iterator.next()) {
      const { finding, change } = next.value;
      console.log(
        `finding FINDING_CHANGE_${FindingChange[change]} SEVERITY_${Severity[finding.severity]} ` +
          `score ${finding.score.toFixed(2)} user ${finding.userId} session ${finding.sessionId}: ` +
          finding.summary,
      );
      seen += 1;
      if (seen >= wanted) {
        abort.abort();
        break;
      }
    }
  } catch (error) {
    if (seen < wanted) {
      console.error(`stopped after ${seen} findings: ${error.message}`);
      return 1;
    }
  } finally {
    clearTimeout(timer);
  }
  return seen >= wanted ? 0 : 1;
}

process.exitCode = await main();
