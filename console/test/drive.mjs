// Drives the console in a real headless Chromium, as two analysts would, for the end-to-end
// test in tests/e2e/console.rs (which starts the server, seeds it, and checks every answer
// against the API). The plan comes as JSON in TOKENWATCH_CONSOLE_PLAN; the report is the last
// line of stdout, as JSON. Two plans: "analysts" (development tokens, the whole workflow) and
// "oidc" (signing in through the identity provider).
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { chromium } from "playwright-core";

const plan = JSON.parse(process.env.TOKENWATCH_CONSOLE_PLAN);
const report = {};
const shots = plan.screenshots;
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: plan.chromium,
  // Containers run as root, where Chromium's sandbox cannot start.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const errors = [];

async function person(token, next = "/") {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  await page.goto(`${plan.url}/#token=${token}&next=${next}`);
  return page;
}

async function queueIds(page) {
  await page.waitForFunction(() => /shown|No findings/.test(document.querySelector("#queue-status")?.textContent ?? ""));
  return page.$$eval("tr.finding", (rows) => rows.map((row) => row.dataset.findingId));
}

async function openFinding(page, finding) {
  await page.goto(`${plan.url}/#/findings/${finding.tenant}/${finding.id}`);
  await page.waitForSelector(`.finding-head[data-finding-id="${finding.id}"]`);
}

async function signInWithProvider() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(`${plan.url}/`);
  await page.click("#oidc-sign-in");
  // To the provider and back (the stand-in signs in at once), then the code redeemed.
  await page.waitForSelector("#who");
  report.signedInAs = await page.textContent("#who");
  report.addressAfter = page.url();
  report.storedToken = await page.evaluate(() => Boolean(sessionStorage.getItem("tokenwatch.token")));
  await page.goto(`${plan.url}/#/tenants`);
  await page.waitForSelector("#tenants tbody tr[data-tenant-id]");
  report.tenantsShown = await page.$$eval("#tenants tbody tr[data-tenant-id]", (rows) => rows.map((row) => row.dataset.tenantId));
  // A development token in the address is ignored where development auth is off.
  const other = await browser.newContext();
  const stranger = await other.newPage();
  await stranger.goto(`${plan.url}/#token=${plan.devToken}`);
  await stranger.waitForSelector("#oidc-sign-in");
  report.devTokenIgnored = !(await stranger.evaluate(() => sessionStorage.getItem("tokenwatch.token")));
}

try {
  if (plan.mode === "oidc") {
    await signInWithProvider();
  } else {
    await analysts();
  }
} catch (error) {
  report.failure = String(error?.stack ?? error);
} finally {
  report.pageErrors = errors;
  await browser.close();
}
console.log(JSON.stringify(report));

async function analysts() {
  // 1. The queue, as the analyst of tenant A.
  const alice = await person(plan.alice);
  const started = Date.now();
  report.queue = await queueIds(alice);
  report.queueMillis = Date.now() - started;
  report.signedInAs = await alice.textContent("#who");
  report.csp = await alice.evaluate(async () => (await fetch("/")).headers.get("content-security-policy"));

  // The same queue, most severe first.
  await alice.selectOption("#filter-order", "severity");
  await alice.waitForFunction(() => document.querySelector("#filter-order")?.value === "severity");
  report.severityQueue = await queueIds(alice);
  await alice.goto(`${plan.url}/#/`);
  await alice.waitForFunction(() => document.querySelector("#filter-order")?.value === "recent");
  await queueIds(alice);

  // 2. A finding opened from the queue, and a verdict.
  await alice.click(`tr.finding[data-finding-id="${plan.verdict.id}"]`);
  await alice.waitForSelector(`.finding-head[data-finding-id="${plan.verdict.id}"]`);
  report.whyRows = await alice.$$eval("table.why tbody tr", (rows) => rows.length);
  if (shots) {
    await alice.setViewportSize({ width: 1440, height: 1700 });
    await alice.screenshot({ path: join(shots, "finding.png") });
    await alice.setViewportSize({ width: 1440, height: 900 });
  }
  const showAll = await alice.$("section:has(table.timeline) button");
  if (showAll) await showAll.click();
  report.timelineEvents = await alice.$$eval("table.timeline tbody tr td:nth-child(2)", (cells) =>
    cells.reduce((sum, cell) => sum + Number(cell.textContent), 0),
  );
  report.movedRows = await alice.$$eval("table.timeline tbody tr.changed", (rows) => rows.length);
  await alice.selectOption("#verdict-kind", plan.verdictKind);
  await alice.fill("#verdict-comment", "checked with the user: VPN");
  await alice.click("#verdict-submit");
  await alice.waitForFunction(() => /verdict/.test(document.querySelector("#history")?.textContent ?? ""));
  report.statusAfterVerdict = await alice.textContent("#finding-status");

  // 3. Alice proposes disabling a user; the page refuses to let her approve it herself.
  await openFinding(alice, plan.action);
  await alice.selectOption("#action-kind", plan.actionKind);
  await alice.fill("#action-reason", "stolen session (console test)");
  await alice.click("#propose");
  const proposed = `.actions li:has-text("Disable the user")`;
  await alice.waitForSelector(proposed);
  report.proposedState = (await alice.textContent(`${proposed} .action-state`)).trim();
  report.selfApprovalOffered = (await alice.$$(`${proposed} button.approve`)).length > 0;
  report.selfApprovalNote = await alice.textContent(`${proposed} .self`);
  const actionId = await alice.getAttribute(proposed, "data-action-id");
  report.actionId = actionId;

  // 4. Bob approves it; the responder calls Graph; the page shows the outcome.
  const bob = await person(plan.bob, `/findings/${plan.action.tenant}/${plan.action.id}`);
  const mine = `.actions li[data-action-id="${actionId}"]`;
  await bob.waitForSelector(`${mine} button.approve`);
  await bob.click(`${mine} button.approve`);
  const deadline = Date.now() + 60000;
  for (;;) {
    await bob.waitForSelector(`${mine} .action-state`);
    const state = (await bob.textContent(`${mine} .action-state`)).trim();
    if (/Succeeded|Failed/.test(state) || Date.now() > deadline) {
      report.finalState = state;
      report.graphAnswer = (await bob.$(`${mine} .result`)) ? await bob.textContent(`${mine} .result`) : "";
      report.decidedBy = await bob.textContent(mine);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    await openFinding(bob, plan.action);
  }

  // The MSP-wide queue, as bob (every tenant) sees it: the README's picture.
  if (shots) {
    await bob.goto(`${plan.url}/#/`);
    await queueIds(bob);
    await bob.screenshot({ path: join(shots, "queue.png") });
  }

  // 5. A suggested suppression accepted.
  await openFinding(alice, plan.suggestion);
  await alice.click(".accept-suggestion");
  await alice.waitForSelector(".message.ok");
  report.suppressionMessage = await alice.textContent(".message.ok");

  // 6. Another tenant's finding, asked for by address: refused, nothing shown.
  await alice.goto(`${plan.url}/#/findings/${plan.otherTenant.tenant}/${plan.otherTenant.id}`);
  await alice.waitForSelector("main .error");
  report.otherTenantError = await alice.textContent("main .error");

  // 7. The tenants page.
  await alice.goto(`${plan.url}/#/tenants`);
  await alice.waitForSelector("#tenants tbody tr[data-tenant-id]");
  await alice.waitForFunction(() => !document.querySelector("#tenants td.muted")?.textContent.includes("…"));
  report.tenantsShown = await alice.$$eval("#tenants tbody tr[data-tenant-id]", (rows) => rows.map((row) => row.dataset.tenantId));

  // 8. Every tenant, as bob (msp_admin) sees them, tenant A's connection tested.
  await bob.goto(`${plan.url}/#/tenants`);
  await bob.waitForSelector("#tenants tbody tr[data-tenant-id]");
  const row = `#tenants tr[data-tenant-id="${plan.action.tenant}"]`;
  await bob.click(`${row} button[data-action=test]`);
  await bob.waitForSelector(`${row} .checks li`);
  // Last month's report for the customer, downloaded as the browser saves it.
  const [download] = await Promise.all([bob.waitForEvent("download"), bob.click(`${row} button[data-action=report]`)]);
  report.reportDownload = download.suggestedFilename();
  report.connectionChecks = await bob.$$eval(`#tenants tr[data-tenant-id="${plan.action.tenant}"] .checks li`, (items) => items.map((item) => item.textContent));
  if (shots) await bob.screenshot({ path: join(shots, "tenants.png") });
}
