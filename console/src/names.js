// What the API's enums and feature names mean, in the words an analyst uses.
import { ContextKind, FindingStatus, Severity, VerdictKind } from "@tokenwatch/sdk/common/v1";
import { ActionKind, ActionState, ResponseMode } from "@tokenwatch/sdk/response/v1";

export const SEVERITIES = [
  [Severity.CRITICAL, "Critical"],
  [Severity.HIGH, "High"],
  [Severity.MEDIUM, "Medium"],
  [Severity.LOW, "Low"],
  [Severity.INFO, "Info"],
];

export function severityName(severity) {
  return SEVERITIES.find(([value]) => value === severity)?.[1] ?? "Unknown";
}

const STATUSES = [
  [FindingStatus.OPEN, "Open"],
  [FindingStatus.ACKNOWLEDGED, "Acknowledged"],
  [FindingStatus.RESOLVED_TRUE_POSITIVE, "Resolved: compromise"],
  [FindingStatus.RESOLVED_FALSE_POSITIVE, "Resolved: false positive"],
  [FindingStatus.RESOLVED_BENIGN, "Resolved: benign"],
];

export function statusName(status) {
  return STATUSES.find(([value]) => value === status)?.[1] ?? "Unknown";
}

export function isResolved(status) {
  return status >= FindingStatus.RESOLVED_TRUE_POSITIVE;
}

export const VERDICTS = [
  [VerdictKind.TRUE_POSITIVE, "True positive: the session was stolen"],
  [VerdictKind.FALSE_POSITIVE, "False positive: nothing was wrong"],
  [VerdictKind.BENIGN_TRUE_POSITIVE, "Benign: real change, expected (travel, new device)"],
];

export function verdictName(kind) {
  return VERDICTS.find(([value]) => value === kind)?.[1].split(":")[0] ?? "Unknown";
}

export const ACTION_KINDS = [
  [ActionKind.REVOKE_SESSIONS, "Revoke the user's sessions"],
  [ActionKind.DISABLE_USER, "Disable the user"],
  [ActionKind.ENABLE_USER, "Enable the user again"],
  [ActionKind.CONFIRM_COMPROMISED, "Confirm the user compromised (Identity Protection)"],
];

export function actionName(kind) {
  return ACTION_KINDS.find(([value]) => value === kind)?.[1] ?? "Unknown action";
}

const ACTION_STATES = {
  [ActionState.PROPOSED]: "Awaiting approval",
  [ActionState.APPROVED]: "Approved",
  [ActionState.REJECTED]: "Rejected",
  [ActionState.EXECUTING]: "Executing",
  [ActionState.SUCCEEDED]: "Succeeded",
  [ActionState.FAILED]: "Failed",
  [ActionState.CANCELLED]: "Cancelled",
};

export function actionStateName(state) {
  return ACTION_STATES[state] ?? "Unknown";
}

const MODES = {
  [ResponseMode.NOTIFY]: "Notify only",
  [ResponseMode.REQUIRE_APPROVAL]: "Two-person approval",
  [ResponseMode.AUTOMATIC]: "Automatic",
};

export function modeName(mode) {
  return MODES[mode] ?? "Not set";
}

export const CONTEXT_KINDS = [
  [ContextKind.IP, "IP address"],
  [ContextKind.PREFIX, "Network"],
  [ContextKind.ASN, "Network owner (AS)"],
  [ContextKind.COUNTRY, "Country"],
  [ContextKind.USER_AGENT, "User agent"],
  [ContextKind.BROWSER, "Browser"],
  [ContextKind.OS, "Operating system"],
  [ContextKind.DEVICE, "Device"],
  [ContextKind.NETWORK_CLIENT, "Client"],
];

export function contextName(kind) {
  return CONTEXT_KINDS.find(([value]) => value === kind)?.[1] ?? "Context";
}

/** The engine's features (crates/core/src/detect/feature.rs), named for a reader. */
const FEATURES = {
  novel_network_change: "Moved to a network new for the user",
  client_change: "Operating system or device changed mid-session",
  unattested_signin: "Sign-ins without the session's device",
  hosting_signin: "Sign-in from hosting infrastructure",
  interleaving: "Two networks alternating: two parties in one session",
  impossible_travel: "Impossible travel",
  hosting_network: "Hosting, cloud or VPN network",
  new_country: "Country new for the user",
  new_network: "Network new for the user",
  tool_client: "Script or tool client",
  no_fresh_signin: "New network without a fresh sign-in",
  revived_session: "Session revived after a day, from a new network",
  risky_after_change: "Risky changes after the context changed",
  risky_any: "Risky operation",
  op_volume: "Far more operations than usual",
  off_hours: "Outside the user's usual hours",
};

export function featureName(feature) {
  return FEATURES[feature] ?? feature.replaceAll("_", " ");
}
