// The queue: findings of every tenant the person may see, newest first, filtered, a page of 100
// at a time, rolled up per user on request, and kept live by WatchFindings.
import { FindingStatus, Severity } from "@tokenwatch/sdk/common/v1";
import { FindingChange, FindingView } from "@tokenwatch/sdk/detection/v1";

import { describeError, detection } from "./api.js";
import { ago, h, number, replace, timestamp, when } from "./dom.js";
import { SEVERITIES, featureName, isResolved, severityName, statusName } from "./names.js";

const PAGE_SIZE = 100;

const STATUS_FILTERS = {
  active: [FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED],
  open: [FindingStatus.OPEN],
  resolved: [
    FindingStatus.RESOLVED_TRUE_POSITIVE,
    FindingStatus.RESOLVED_FALSE_POSITIVE,
    FindingStatus.RESOLVED_BENIGN,
  ],
  any: [],
};

const SINCE = { "24h": 1, "7d": 7, "30d": 30, any: 0 };

/** The filters, from the route's query (`#/?severity=4&status=active`). */
function readFilters(query) {
  return {
    tenant: query.get("tenant") ?? "",
    severity: Number(query.get("severity") ?? Severity.UNSPECIFIED),
    status: STATUS_FILTERS[query.get("status")] ? query.get("status") : "active",
    user: query.get("user") ?? "",
    since: SINCE[query.get("since")] !== undefined ? query.get("since") : "any",
    group: query.get("group") === "user",
    order: query.get("order") === "severity" ? "severity" : "recent",
  };
}

function writeFilters(filters) {
  const query = new URLSearchParams();
  if (filters.tenant) query.set("tenant", filters.tenant);
  if (filters.severity) query.set("severity", String(filters.severity));
  if (filters.status !== "active") query.set("status", filters.status);
  if (filters.user) query.set("user", filters.user);
  if (filters.since !== "any") query.set("since", filters.since);
  if (filters.group) query.set("group", "user");
  if (filters.order === "severity") query.set("order", "severity");
  const text = query.toString();
  location.hash = text ? `#/?${text}` : "#/";
}

function request(filters, pageToken) {
  const days = SINCE[filters.since];
  return {
    tenantId: filters.tenant,
    userId: filters.user.trim(),
    minSeverity: filters.severity,
    statuses: STATUS_FILTERS[filters.status],
    activeTime: days ? { startTime: timestamp(new Date(Date.now() - days * 86400000)) } : undefined,
    pageSize: PAGE_SIZE,
    pageToken,
    // What a row shows; the finding's page asks for the rest.
    view: FindingView.BASIC,
    orderBy: filters.order === "severity" ? "severity desc" : "last_seen_time desc",
  };
}

/** Renders the queue into `main`; returns a function that stops its live updates. */
export function renderQueue(main, query, context) {
  const filters = readFilters(query);
  const findings = new Map();
  let nextPageToken = "";
  const live = new AbortController();

  const status = h("p", { class: "muted", id: "queue-status" }, "Loading findings…");
  const body = h("tbody");
  const more = h("button", { class: "secondary", id: "load-more", hidden: true, onclick: () => load(nextPageToken) }, "Load 100 more");
  const liveBadge = h("span", { class: "live", title: "New and changed findings appear as they happen" }, "connecting…");

  replace(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Findings"), liveBadge),
    filterBar(filters, context.tenants),
    h(
      "table",
      { class: "queue", id: "queue" },
      h(
        "thead",
        {},
        h("tr", {}, ["Severity", "Score", "User", "Tenant", "What happened", "Status", "Last activity"].map((name) => h("th", {}, name))),
      ),
      body,
    ),
    more,
    status,
  );

  function row(finding, fresh = false) {
    const tenant = context.tenants.get(finding.tenantId);
    return h(
      "tr",
      {
        class: `finding ${fresh ? "fresh" : ""} ${isResolved(finding.status) ? "resolved" : ""}`,
        dataset: { findingId: finding.findingId, tenantId: finding.tenantId },
        onclick: () => (location.hash = `#/findings/${finding.tenantId}/${finding.findingId}`),
      },
      h("td", {}, badge(finding.severity)),
      h("td", { class: "num" }, number(finding.score)),
      h("td", { class: "user" }, h("a", { href: `#/findings/${finding.tenantId}/${finding.findingId}` }, finding.userId)),
      h("td", { class: "tenant" }, tenant?.displayName || finding.tenantId),
      h("td", { class: "summary", title: finding.summary }, reasons(finding)),
      h("td", {}, h("span", { class: `status s${finding.status}` }, statusName(finding.status))),
      h("td", { title: when(finding.lastSeenTime) }, ago(finding.lastSeenTime)),
    );
  }

  function draw() {
    const list = [...findings.values()];
    // Live updates land on top; in severity order they take their place by severity.
    if (filters.order === "severity") {
      list.sort(
        (a, b) =>
          b.finding.severity - a.finding.severity ||
          Number((b.finding.lastSeenTime?.seconds ?? 0n) - (a.finding.lastSeenTime?.seconds ?? 0n)),
      );
    }
    if (!filters.group) {
      replace(body, list.map((entry) => row(entry.finding, entry.fresh)));
      return;
    }
    // Incidents rolled up per user: the user's worst finding first, the rest beneath it.
    const byUser = new Map();
    for (const entry of list) {
      const key = `${entry.finding.tenantId}/${entry.finding.userId}`;
      if (!byUser.has(key)) byUser.set(key, []);
      byUser.get(key).push(entry);
    }
    const groups = [...byUser.values()].sort(
      (a, b) => Math.max(...b.map((e) => e.finding.severity)) - Math.max(...a.map((e) => e.finding.severity)),
    );
    replace(
      body,
      groups.map((entries) => {
        const worst = entries.reduce((a, b) => (b.finding.severity > a.finding.severity ? b : a));
        const tenant = context.tenants.get(worst.finding.tenantId);
        return [
          h(
            "tr",
            { class: "incident" },
            h("td", {}, badge(worst.finding.severity)),
            h("td", { class: "num" }, number(Math.max(...entries.map((e) => e.finding.score)))),
            h("td", { class: "user" }, worst.finding.userId),
            h("td", { class: "tenant" }, tenant?.displayName || worst.finding.tenantId),
            h("td", { colspan: 3 }, `${entries.length} session${entries.length === 1 ? "" : "s"} flagged`),
          ),
          entries.map((entry) => row(entry.finding, entry.fresh)),
        ];
      }),
    );
  }

  async function load(pageToken) {
    more.hidden = true;
    status.textContent = "Loading findings…";
    try {
      const page = await detection.listFindings(request(filters, pageToken));
      for (const finding of page.findings) findings.set(finding.findingId, { finding, fresh: false });
      nextPageToken = page.nextPageToken;
      more.hidden = !nextPageToken;
      draw();
      status.textContent = findings.size
        ? `${findings.size} finding${findings.size === 1 ? "" : "s"} shown${nextPageToken ? ", more below" : ""}.`
        : "No findings match these filters.";
    } catch (error) {
      status.textContent = describeError(error);
      status.className = "error";
    }
  }

  async function follow() {
    let delay = 500;
    while (!live.signal.aborted) {
      try {
        const stream = detection.watchFindings(
          { tenantId: filters.tenant, minSeverity: filters.severity },
          { signal: live.signal },
        );
        liveBadge.textContent = "live";
        liveBadge.classList.add("on");
        delay = 500;
        for await (const update of stream) {
          const finding = update.finding;
          if (!finding || !matches(filters, finding)) continue;
          const known = findings.has(finding.findingId);
          if (!known) {
            // Newest first: a new finding goes on top.
            const rest = [...findings.entries()];
            findings.clear();
            findings.set(finding.findingId, { finding, fresh: true });
            for (const [id, entry] of rest) findings.set(id, entry);
          } else {
            findings.set(finding.findingId, { finding, fresh: update.change !== FindingChange.STATUS_CHANGED });
          }
          draw();
        }
      } catch (error) {
        if (live.signal.aborted) return;
        liveBadge.textContent = "reconnecting…";
        liveBadge.classList.remove("on");
        liveBadge.title = describeError(error);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }

  function filterBar(current, knownTenants) {
    const change = (update) => writeFilters({ ...current, ...update });
    return h(
      "form",
      { class: "filters", onsubmit: (event) => event.preventDefault() },
      label(
        "Tenant",
        select(
          "filter-tenant",
          [["", "All tenants"], ...[...knownTenants.values()].map((t) => [t.tenantId, t.displayName || t.tenantId])],
          current.tenant,
          (value) => change({ tenant: value }),
        ),
      ),
      label(
        "Severity",
        select(
          "filter-severity",
          [[String(Severity.UNSPECIFIED), "Any"], ...SEVERITIES.map(([value, name]) => [String(value), `${name} and above`])],
          String(current.severity),
          (value) => change({ severity: Number(value) }),
        ),
      ),
      label(
        "Status",
        select(
          "filter-status",
          [["active", "Open or acknowledged"], ["open", "Open"], ["resolved", "Resolved"], ["any", "Any"]],
          current.status,
          (value) => change({ status: value }),
        ),
      ),
      label(
        "Active in",
        select(
          "filter-since",
          [["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"], ["any", "Any time"]],
          current.since,
          (value) => change({ since: value }),
        ),
      ),
      label(
        "User",
        h("input", {
          id: "filter-user",
          type: "search",
          placeholder: "user@customer.com",
          value: current.user,
          onchange: (event) => change({ user: event.target.value }),
        }),
      ),
      label(
        "Order",
        select(
          "filter-order",
          [["recent", "Newest first"], ["severity", "Most severe first"]],
          current.order,
          (value) => change({ order: value }),
        ),
      ),
      label(
        "View",
        select(
          "filter-group",
          [["", "Each finding"], ["user", "Rolled up per user"]],
          current.group ? "user" : "",
          (value) => change({ group: value === "user" }),
        ),
      ),
    );
  }

  load("");
  follow();
  return () => live.abort();
}

function matches(filters, finding) {
  if (filters.tenant && finding.tenantId !== filters.tenant) return false;
  if (filters.user && finding.userId !== filters.user.trim()) return false;
  const statuses = STATUS_FILTERS[filters.status];
  return statuses.length === 0 || statuses.includes(finding.status);
}

/** The finding's three strongest reasons, in words. */
function reasons(finding) {
  const top = [...finding.contributions].sort((a, b) => b.contribution - a.contribution).slice(0, 3);
  return top.length ? top.map((c) => featureName(c.feature)).join(" · ") : finding.summary;
}

export function badge(severity) {
  return h("span", { class: `severity sev${severity}` }, severityName(severity));
}

function label(text, control) {
  return h("label", {}, h("span", {}, text), control);
}

function select(id, options, value, onChange) {
  return h(
    "select",
    { id, onchange: (event) => onChange(event.target.value) },
    options.map(([optionValue, name]) => h("option", { value: optionValue, selected: optionValue === value }, name)),
  );
}
