// For tests/benches/console.rs: opens the console in a fresh, cache-less browser context
// `runs` times and reports how long the first 100 rows took to be on screen.
import { chromium } from "playwright-core";

const plan = JSON.parse(process.env.TOKENWATCH_CONSOLE_PLAN);
const browser = await chromium.launch({ executablePath: plan.chromium, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
const millis = [];
let answerBytes = 0;
const listMillis = [];
for (let run = 0; run < plan.runs; run++) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(`${plan.url}/#token=${plan.token}`);
  await page.waitForFunction(() => document.querySelectorAll("tr.finding").length >= 100);
  millis.push(Date.now() - started);
  const call = await page.evaluate(() => {
    const entry = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/ListFindings"));
    return entry ? { bytes: entry.encodedBodySize, millis: entry.responseEnd - entry.startTime } : undefined;
  });
  if (call) {
    answerBytes = call.bytes;
    listMillis.push(call.millis);
  }
  await context.close();
}
await browser.close();
console.log(JSON.stringify({ millis, answerBytes, listMillis }));
