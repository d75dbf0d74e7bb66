// Tenants: each customer's onboarding (credentials, sources, what tokenwatch has learned) and
// response policy, with a connection test.
import { baseline, describeError, response, tenants as tenantService } from "./api.js";
import { h, replace, when } from "./dom.js";
import { modeName } from "./names.js";

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
        h("tr", {}, ["Customer", "Graph credentials", "Sources", "Users learned", "Response", "Connection"].map((name) => h("th", {}, name))),
      ),
      body,
    ),
  );
  if (!list.length) {
    replace(body, h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No tenant yet: `tokenwatch tenant add` registers one.")));
    return;
  }
  replace(body, list.map((tenant) => row(tenant)));
}

function row(tenant) {
  const learned = h("td", { class: "muted" }, "…");
  const policy = h("td", { class: "muted" }, "…");
  const check = h("td", {});
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
  const test = h(
    "button",
    {
      class: "secondary",
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
    learned,
    policy,
    check,
  );
}
