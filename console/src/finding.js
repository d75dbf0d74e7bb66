// One finding: why it scored, the session's timeline beside the user's usual, its history, and
// what the analyst can do about it (verdict, status, response actions, suppressions).
import { ContextKind, FindingStatus } from "@tokenwatch/sdk/common/v1";
import { ActionState } from "@tokenwatch/sdk/response/v1";

import { baseline, describeError, detection, feedback, identity, response } from "./api.js";
import { ago, h, number, replace, timestamp, when } from "./dom.js";
import {
  ACTION_KINDS,
  CONTEXT_KINDS,
  VERDICTS,
  actionName,
  actionStateName,
  contextName,
  featureName,
  isResolved,
  statusName,
  verdictName,
} from "./names.js";
import { badge } from "./queue.js";

export async function renderFinding(main, tenantId, findingId, context) {
  replace(main, h("p", { class: "muted" }, "Loading the finding…"));
  let answer;
  try {
    answer = await detection.getFinding({ tenantId, findingId });
  } catch (error) {
    replace(main, backLink(), h("p", { class: "error" }, describeError(error)));
    return;
  }
  const { finding, evidence, history } = answer;
  const tenant = context.tenants.get(tenantId);
  const [usual, verdicts, actions, suggestions] = await Promise.all([
    baseline.getUserBaseline({ tenantId, userId: finding.userId }).then((r) => r.baseline).catch(() => undefined),
    feedback.listVerdicts({ tenantId, findingId }).then((r) => r.verdicts).catch(() => []),
    response
      .listActions({ tenantId, userId: finding.userId, pageSize: 100 })
      .then((r) => r.actions.filter((a) => a.findingId === findingId))
      .catch(() => []),
    feedback
      .listSuppressionSuggestions({ tenantId })
      .then((r) => r.suggestions.filter((s) => s.findingIds.includes(findingId)))
      .catch(() => []),
  ]);
  const refresh = () => renderFinding(main, tenantId, findingId, context);

  replace(
    main,
    backLink(),
    h(
      "header",
      { class: "finding-head", dataset: { findingId } },
      h("div", {}, badge(finding.severity), h("span", { class: `status s${finding.status}`, id: "finding-status" }, statusName(finding.status))),
      h("h1", {}, finding.userId),
      h("p", { class: "summary" }, finding.summary),
      h(
        "dl",
        { class: "facts" },
        fact("Tenant", tenant?.displayName || tenantId),
        fact("Score", `${number(finding.score)} (threshold ${number(finding.threshold)})`),
        fact("Session", finding.sessionId),
        fact("Active", `${when(finding.firstSeenTime)} → ${when(finding.lastSeenTime)}`),
        fact("Detected", `${when(finding.detectedAt)} (${ago(finding.detectedAt)})`),
      ),
    ),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        { class: "main-column" },
        section("Why it scored", why(finding)),
        section("This session beside the user's usual", contexts(finding, usual)),
        section("Timeline", timeline(evidence)),
        section("History", historyList(history, verdicts)),
      ),
      h(
        "aside",
        { class: "side-column" },
        section("Verdict", verdictForm(tenantId, finding, refresh)),
        section("Status", statusButtons(tenantId, finding, refresh)),
        section("Response", actionPanel(tenantId, finding, actions, refresh)),
        section("Suppress an expected context", suppressionPanel(tenantId, finding, suggestions)),
      ),
    ),
  );
}

function backLink() {
  return h("a", { href: "#/", class: "back" }, "← All findings");
}

function section(title, ...content) {
  return h("section", { class: "card" }, h("h2", {}, title), ...content);
}

function fact(name, value) {
  return [h("dt", {}, name), h("dd", {}, value)];
}

function why(finding) {
  const rows = [...finding.contributions].sort((a, b) => b.contribution - a.contribution);
  const top = Math.max(0.0001, ...rows.map((row) => row.contribution));
  return h(
    "table",
    { class: "why" },
    h("thead", {}, h("tr", {}, ["Evidence", "Value", "Weight", "Contribution", ""].map((name) => h("th", {}, name)))),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          {},
          h(
            "td",
            {},
            h("strong", {}, featureName(row.feature)),
            row.explanation && h("div", { class: "muted" }, row.explanation),
            row.baseline && !row.explanation.includes(row.baseline) && h("div", { class: "baseline" }, `Usually: ${row.baseline}`),
          ),
          h("td", { class: "num" }, number(row.value)),
          h("td", { class: "num" }, number(row.weight)),
          h("td", { class: "num" }, number(row.contribution)),
          h("td", { class: "bar-cell" }, h("span", { class: "bar", style: { width: `${Math.round((row.contribution / top) * 100)}%` } })),
        ),
      ),
    ),
  );
}

function contexts(finding, usual) {
  const kinds = [ContextKind.COUNTRY, ContextKind.ASN, ContextKind.PREFIX, ContextKind.BROWSER, ContextKind.OS, ContextKind.DEVICE];
  const session = (kind) => finding.contexts.filter((c) => c.context?.kind === kind);
  const habitual = (kind) =>
    (usual?.contexts ?? [])
      .filter((c) => c.context?.kind === kind)
      .sort((a, b) => b.share - a.share)
      .slice(0, 4);
  return h(
    "table",
    { class: "contexts" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "This session"), h("th", {}, usual ? "Usually" : "Usually (no baseline yet)"))),
    h(
      "tbody",
      {},
      kinds
        .filter((kind) => session(kind).length || habitual(kind).length)
        .map((kind) =>
        h(
          "tr",
          {},
          h("th", {}, CONTEXT_KINDS.find(([value]) => value === kind)?.[1] ?? contextName(kind)),
          h(
            "td",
            {},
            session(kind).map((c) =>
              h(
                "div",
                { class: c.newForUser ? "new" : "" },
                c.context.value,
                c.newForUser && h("span", { class: "tag" }, "new for user"),
                c.attributes?.note && h("span", { class: "muted" }, ` ${c.attributes.note}`),
              ),
            ),
          ),
          h(
            "td",
            {},
            habitual(kind).map((c) => h("div", {}, c.context.value, h("span", { class: "muted" }, ` ${Math.round(c.share * 100)}%`))),
          ),
        ),
      ),
    ),
  );
}

/** Where an event came from: what marks a moment the session's context changed. */
function network(event) {
  return `${event.ipAddress}|${event.asn}|${event.country}`;
}

/** Consecutive events from one address, oldest first: one row each, so the moments the
 * session moved stand out. Clients and devices are listed, not compared: they differ between
 * workloads (Outlook, OWA, SharePoint) within one honest session. */
function stretches(evidence) {
  const ordered = [...evidence].sort((a, b) => Number((a.eventTime?.seconds ?? 0n) - (b.eventTime?.seconds ?? 0n)));
  const groups = [];
  for (const event of ordered) {
    const last = groups.at(-1);
    if (last && network(last.events[0]) === network(event)) last.events.push(event);
    else groups.push({ events: [event], from: last?.events[0] });
  }
  return groups;
}

function distinct(values, limit) {
  const counts = new Map();
  for (const value of values) if (value) counts.set(value, (counts.get(value) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const shown = top.slice(0, limit).map(([value, n]) => (n > 1 ? `${value} ×${n}` : value));
  return top.length > limit ? [...shown, `+${top.length - limit} more`] : shown;
}

const TIMELINE_ROWS = 40;

function timeline(evidence) {
  const groups = stretches(evidence).reverse();
  const body = h("tbody");
  const rowOf = (group) => {
    const first = group.events[0];
    const last = group.events.at(-1);
    const moved = group.from
      ? [
          first.country !== group.from.country && `${group.from.country || "?"} → ${first.country || "?"}`,
          first.asn !== group.from.asn && `AS${group.from.asn} → AS${first.asn}`,
        ].filter(Boolean)
      : [];
    return h(
      "tr",
      { class: moved.length ? "changed" : "" },
      h("td", {}, when(first.eventTime), group.events.length > 1 && h("div", { class: "muted" }, `→ ${when(last.eventTime)}`)),
      h("td", { class: "num" }, group.events.length),
      h("td", {}, distinct(group.events.map((e) => e.operation), 3).map((text) => h("div", {}, text))),
      h("td", {}, first.ipAddress),
      h("td", {}, first.asn ? `AS${first.asn}` : "—"),
      h("td", {}, first.country || "—"),
      h("td", { class: "ua" }, distinct(group.events.map((e) => e.userAgent), 2).map((text) => h("div", { title: text }, text))),
      h("td", {}, distinct(group.events.map((e) => e.deviceId), 1).map((text) => h("div", { class: "mono" }, text))),
      h("td", {}, moved.length ? h("span", { class: "tag change" }, `moved: ${moved.join(", ")}`) : ""),
    );
  };
  const show = (count) => replace(body, groups.slice(0, count).map(rowOf));
  show(TIMELINE_ROWS);
  const all =
    groups.length > TIMELINE_ROWS &&
    h("button", { class: "secondary", onclick: (event) => (show(groups.length), event.target.remove()) }, `Show all ${groups.length} stretches`);
  return [
    h("p", { class: "muted" }, `${evidence.length} events in ${groups.length} stretches from one address each, newest first; highlighted where it moved to another network or country.`),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "timeline" },
        h("thead", {}, h("tr", {}, ["From", "Events", "Operations", "IP", "Network", "Country", "Clients", "Device", ""].map((name) => h("th", {}, name)))),
        body,
      ),
    ),
    all,
  ];
}

function historyList(history, verdicts) {
  const items = [
    ...history.map((change) => ({
      time: change.changeTime,
      text: `${change.actor}: ${statusName(change.fromStatus)} → ${statusName(change.toStatus)}`,
      comment: change.comment,
    })),
    ...verdicts.map((verdict) => ({
      time: verdict.createTime,
      text: `${verdict.analyst}: verdict ${verdictName(verdict.kind)}`,
      comment: verdict.comment,
    })),
  ].sort((a, b) => Number((a.time?.seconds ?? 0n) - (b.time?.seconds ?? 0n)));
  if (!items.length) return h("p", { class: "muted" }, "Nothing yet.");
  return h(
    "ol",
    { class: "history", id: "history" },
    items.map((item) => h("li", {}, h("span", { class: "muted" }, when(item.time)), " ", item.text, item.comment && h("q", {}, item.comment))),
  );
}

function verdictForm(tenantId, finding, refresh) {
  const message = h("p", { class: "message" });
  const kind = h("select", { id: "verdict-kind" }, VERDICTS.map(([value, name]) => h("option", { value: String(value) }, name)));
  const comment = h("textarea", { id: "verdict-comment", rows: 2, placeholder: "What you checked (optional)" });
  return h(
    "form",
    {
      id: "verdict-form",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await feedback.submitVerdict({ tenantId, findingId: finding.findingId, kind: Number(kind.value), comment: comment.value });
          refresh();
        } catch (error) {
          message.textContent = describeError(error);
          message.className = "message error";
        }
      },
    },
    kind,
    comment,
    h("button", { type: "submit", id: "verdict-submit" }, "Record verdict"),
    message,
  );
}

function statusButtons(tenantId, finding, refresh) {
  const message = h("p", { class: "message" });
  const set = (status) => async () => {
    try {
      await detection.updateFindingStatus({ tenantId, findingId: finding.findingId, status });
      refresh();
    } catch (error) {
      message.textContent = describeError(error);
      message.className = "message error";
    }
  };
  return h(
    "div",
    { class: "buttons" },
    finding.status === FindingStatus.OPEN &&
      h("button", { class: "secondary", id: "acknowledge", onclick: set(FindingStatus.ACKNOWLEDGED) }, "Acknowledge"),
    (finding.status === FindingStatus.ACKNOWLEDGED || isResolved(finding.status)) &&
      h("button", { class: "secondary", id: "reopen", onclick: set(FindingStatus.OPEN) }, "Reopen"),
    h("p", { class: "muted" }, "A verdict resolves the finding."),
    message,
  );
}

function actionPanel(tenantId, finding, actions, refresh) {
  const me = identity()?.subject;
  const message = h("p", { class: "message" });
  const fail = (error) => {
    message.textContent = describeError(error);
    message.className = "message error";
  };
  const kind = h("select", { id: "action-kind" }, ACTION_KINDS.map(([value, name]) => h("option", { value: String(value) }, name)));
  const reason = h("input", { id: "action-reason", type: "text", placeholder: "Reason", value: `finding ${finding.findingId}` });
  const propose = h(
    "form",
    {
      id: "propose-form",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await response.proposeAction({
            tenantId,
            kind: Number(kind.value),
            userId: finding.userId,
            findingId: finding.findingId,
            reason: reason.value,
            requestId: crypto.randomUUID(),
          });
          refresh();
        } catch (error) {
          fail(error);
        }
      },
    },
    kind,
    reason,
    h("button", { type: "submit", id: "propose" }, "Propose"),
  );
  const decide = (action, approve) => async () => {
    try {
      await response.approveAction({ tenantId, actionId: action.actionId, approve });
      refresh();
    } catch (error) {
      fail(error);
    }
  };
  const list = actions.map((action) => {
    const mine = me && action.proposedBy === me;
    return h(
      "li",
      { class: `action a${action.state}`, dataset: { actionId: action.actionId } },
      h("strong", {}, actionName(action.kind)),
      " ",
      h("span", { class: "action-state" }, actionStateName(action.state)),
      action.dryRun && h("span", { class: "tag" }, "dry run"),
      h("div", { class: "muted" }, `Proposed by ${action.proposedBy} ${ago(action.createTime)}`),
      action.approvedBy && h("div", { class: "muted" }, `Decided by ${action.approvedBy}`),
      action.result && h("div", { class: "result" }, `Microsoft Graph: ${action.result}`),
      action.state === ActionState.PROPOSED &&
        (mine
          ? h("p", { class: "muted self" }, "You proposed this: another analyst must approve it.")
          : h(
              "div",
              { class: "buttons" },
              h("button", { class: "approve", onclick: decide(action, true) }, "Approve"),
              h("button", { class: "secondary reject", onclick: decide(action, false) }, "Reject"),
            )),
    );
  });
  return [
    actions.length ? h("ul", { class: "actions", id: "actions" }, list) : h("p", { class: "muted" }, "No action proposed."),
    propose,
    message,
  ];
}

function suppressionPanel(tenantId, finding, suggestions) {
  const message = h("p", { class: "message" });
  const fail = (error) => {
    message.textContent = describeError(error);
    message.className = "message error";
  };
  const create = async (request) => {
    try {
      const { suppression } = await feedback.createSuppression(request);
      message.textContent = `Suppressed until ${when(suppression?.expireTime)}: matching evidence now counts for less.`;
      message.className = "message ok";
      return true;
    } catch (error) {
      fail(error);
      return false;
    }
  };
  const offered = suggestions.map((suggestion) => {
    const s = suggestion.suppression;
    return h(
      "li",
      { class: "suggestion" },
      `${contextName(s.context?.kind)} ${s.context?.value} for ${s.userId || "every user"}`,
      h("div", { class: "muted" }, `${suggestion.falsePositives} false positives: ${s.reason}`),
      h(
        "button",
        {
          class: "secondary accept-suggestion",
          onclick: async (event) => {
            const button = event.target;
            button.disabled = true;
            const done = await create({ tenantId, userId: s.userId, context: s.context, reason: s.reason, expireTime: s.expireTime });
            if (done) button.replaceWith(h("strong", { class: "ok" }, "Accepted"));
            else button.disabled = false;
          },
        },
        "Accept",
      ),
    );
  });
  const choices = finding.contexts.filter((c) => c.context).map((c) => [`${c.context.kind}|${c.context.value}`, `${contextName(c.context.kind)}: ${c.context.value}`]);
  const which = h("select", { id: "suppress-context" }, choices.map(([value, name]) => h("option", { value }, name)));
  const days = h("input", { id: "suppress-days", type: "number", min: 1, max: 365, value: 30 });
  const why = h("input", { id: "suppress-reason", type: "text", placeholder: "Why it is expected" });
  return [
    offered.length ? h("ul", { class: "suggestions" }, offered) : h("p", { class: "muted" }, "No suggestion for this finding."),
    choices.length &&
      h(
        "form",
        {
          id: "suppress-form",
          onsubmit: (event) => {
            event.preventDefault();
            const [kind, ...value] = which.value.split("|");
            create({
              tenantId,
              userId: finding.userId,
              context: { kind: Number(kind), value: value.join("|") },
              reason: why.value || "expected for this user",
              expireTime: timestamp(new Date(Date.now() + Number(days.value) * 86400000)),
            });
          },
        },
        which,
        h("label", { class: "inline" }, "for ", days, " days"),
        why,
        h("button", { type: "submit", class: "secondary" }, "Suppress for this user"),
      ),
    message,
  ];
}
