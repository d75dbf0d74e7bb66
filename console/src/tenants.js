// Tenants: each customer's onboarding (credentials, sources, what tokenwatch has learned) and
// response policy, with a connection test.
import { baseline, describeError, ingest, response, tenants as tenantService } from "./api.js";
import { ago, h, replace, when } from "./dom.js";
import { modeName } from "./names.js";
import { ReportFormat } from "@tokenwatch/sdk/tenant/v1";

export async function renderTenants(main, context) {
  const list = [...context.tenants.values()];
  const body = h("tbody");
  replace(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Tenants"), h("span", { class: "muted" }, `${list.length} customer${list.length === 1 ? "" : "s"}`)),
    h(
      "table",
      { class: "tenants", id: "tenants" },
      h(
        "thead",
        {},
        h("tr", {}, ["Customer", "Graph credentials", "Sources", "Pulling", "Users learned", "Response", "PSA", "Monthly report", "Connection"].map((name) => h("th", {}, name))),
      ),
      body,
    ),
  );
  if (!list.length) {
    replace(body, h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No tenant yet: `tokenwatch tenant add` registers one.")));
    return;
  }
  replace(body, list.map((tenant) => row(tenant)));
}

function row(tenant) {
  const learned = h("td", { class: "muted" }, "…");
  const policy = h("td", { class: "muted" }, "…");
  const check = h("td", {});
  const pulling = h("td", { class: "muted" }, "…");
  ingest
    .listConnectorStatus({ tenantId: tenant.tenantId })
    .then(({ sources }) => {
      pulling.className = "";
      const on = sources.filter((s) => s.enabled);
      if (!on.length) return replace(pulling, h("span", { class: "muted" }, "not pulled"));
      const sick = on.filter((s) => !s.healthy);
      const lags = on.map((s) => Number(s.lag?.seconds ?? -1n)).filter((seconds) => seconds >= 0);
      const worst = lags.length ? Math.max(...lags) : undefined;
      const lastSuccess = on.map((s) => s.lastSuccessTime).filter(Boolean).sort((a, b) => Number(b.seconds - a.seconds))[0];
      replace(
        pulling,
        sick.length
          ? h("span", { class: "error", title: sick.map((s) => `${s.source}: ${s.tenantError || s.lastError}`).join("\n") }, `${sick.length} of ${on.length} sources failing`)
          : h("span", { class: "ok" }, `${on.length} sources healthy`),
        h("div", { class: "muted" }, worst === undefined ? "no pull yet" : `lag ${duration(worst)}, last pull ${ago(lastSuccess)}`),
        sick[0] && h("div", { class: "muted" }, sick[0].tenantError || sick[0].lastError),
      );
    })
    .catch((error) => replace(pulling, describeError(error)));
  baseline
    .getBaselineStats({ tenantId: tenant.tenantId })
    .then((stats) => {
      const warming = Number(stats.coldStartUsers);
      replace(learned, `${stats.users} users`, warming ? h("div", { class: "muted" }, `${warming} still learning`) : h("div", { class: "ok" }, "baselines warm"));
      learned.className = "";
    })
    .catch((error) => replace(learned, describeError(error)));
  response
    .getResponsePolicy({ tenantId: tenant.tenantId })
    .then(({ policy: p }) => {
      replace(policy, modeName(p?.defaultMode), p?.dryRun ? h("span", { class: "tag" }, "dry run") : "");
      policy.className = "";
    })
    .catch(() => replace(policy, "—"));
  const psa = h("td", { class: "muted" }, "…");
  response
    .getPsaStatus({ tenantId: tenant.tenantId })
    .then((status) => {
      psa.className = "";
      if (!status.mapping) return replace(psa, h("span", { class: "muted" }, "not mapped"));
      const open = status.tickets.filter((t) => t.state === "open").length;
      replace(
        psa,
        status.mapping.companyName || status.mapping.companyId,
        h("div", { class: "muted" }, `${open} open ticket${open === 1 ? "" : "s"}`),
        status.lastError
          ? h("div", { class: "error", title: status.lastError }, `${status.backlog} waiting: ${status.lastError}`)
          : Number(status.backlog) > 0 && h("div", { class: "muted" }, `${status.backlog} waiting`),
      );
    })
    .catch(() => replace(psa, "—"));
  const month = previousMonth(new Date());
  const report = h(
    "button",
    {
      class: "secondary",
      dataset: { action: "report" },
      title: `The ${month} report for the customer (PDF)`,
      onclick: async () => {
        report.disabled = true;
        try {
          const answer = await tenantService.getMonthlyReport({ tenantId: tenant.tenantId, month, format: ReportFormat.PDF });
          const link = h("a", { href: URL.createObjectURL(new Blob([answer.content], { type: answer.contentType })), download: answer.fileName });
          document.body.append(link);
          link.click();
          link.remove();
        } catch (error) {
          report.replaceWith(h("span", { class: "error" }, describeError(error)));
        } finally {
          report.disabled = false;
        }
      },
    },
    `${month} (PDF)`,
  );
  const test = h(
    "button",
    {
      class: "secondary",
      dataset: { action: "test" },
      onclick: async () => {
        test.disabled = true;
        replace(check, "Testing…");
        try {
          const result = await tenantService.testTenantConnection({ tenantId: tenant.tenantId });
          replace(
            check,
            h("strong", { class: result.ok ? "ok" : "error" }, result.ok ? "All checks pass" : "Something is missing"),
            h("ul", { class: "checks" }, result.checks.map((c) => h("li", { class: c.ok ? "ok" : "error" }, `${c.ok ? "✓" : "✗"} ${c.name}`, c.detail && h("div", { class: "muted" }, c.detail)))),
          );
        } catch (error) {
          replace(check, h("span", { class: "error" }, describeError(error)));
        }
      },
    },
    "Test connection",
  );
  check.append(test);
  const sources = [tenant.sources?.activityFeed && "Activity feed", tenant.sources?.signins && "Sign-ins"].filter(Boolean);
  return h(
    "tr",
    { dataset: { tenantId: tenant.tenantId } },
    h("td", {}, h("strong", {}, tenant.displayName || tenant.tenantId), h("div", { class: "muted mono" }, tenant.tenantId)),
    h(
      "td",
      {},
      tenant.credentialsSet
        ? [h("span", { class: "ok" }, "Set"), h("div", { class: "muted" }, `updated ${when(tenant.credentialsUpdateTime)}`)]
        : h("span", { class: "warn" }, "Not set"),
    ),
    h("td", {}, sources.length ? sources.join(", ") : h("span", { class: "warn" }, "None: nothing is pulled")),
    pulling,
    learned,
    policy,
    psa,
    h("td", {}, report),
    check,
  );
}

/** Last month, `YYYY-MM` (UTC): the report a customer is handed. */
function previousMonth(now) {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth(); // 0-based: this is last month's 1-based number
  return month === 0 ? `${year - 1}-12` : `${year}-${String(month).padStart(2, "0")}`;
}

/** `4 min`, `3 h`, `2 d`. */
function duration(seconds) {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}
