// The API, as the signed-in person: one gRPC-Web transport on the page's own origin, and a
// client per service. The token lives in this tab's sessionStorage only.
import { createClient, createTokenwatchWebTransport } from "@tokenwatch/sdk/web";
import { BaselineService } from "@tokenwatch/sdk/baseline/v1";
import { DetectionService } from "@tokenwatch/sdk/detection/v1";
import { FeedbackService } from "@tokenwatch/sdk/feedback/v1";
import { IngestService } from "@tokenwatch/sdk/ingest/v1";
import { ResponseService } from "@tokenwatch/sdk/response/v1";
import { TenantService } from "@tokenwatch/sdk/tenant/v1";

const TOKEN_KEY = "tokenwatch.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function signIn(jwt) {
  sessionStorage.setItem(TOKEN_KEY, jwt.trim());
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The signed-in person as the token says (for display and the self-approval check only: the
 * server decides what they may do). */
export function identity() {
  const jwt = token();
  if (!jwt) return undefined;
  try {
    const payload = jwt.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
    // The server names a person the same way (preferred_username, upn, email, sub).
    const subject = String(claims.preferred_username ?? claims.upn ?? claims.email ?? claims.sub ?? "");
    return {
      subject,
      name: subject,
      roles: Array.isArray(claims.roles) ? claims.roles.map(String) : [],
      expiresAt: Number(claims.exp ?? 0) * 1000,
    };
  } catch {
    return undefined;
  }
}

const transport = createTokenwatchWebTransport({ getToken: token });

export const detection = createClient(DetectionService, transport);
export const feedback = createClient(FeedbackService, transport);
export const response = createClient(ResponseService, transport);
export const tenants = createClient(TenantService, transport);
export const baseline = createClient(BaselineService, transport);
export const ingest = createClient(IngestService, transport);

/** Every tenant the person may see, by id (a page at a time, up to the server's limit). */
export async function listAllTenants() {
  const all = [];
  let pageToken = "";
  do {
    const page = await tenants.listTenants({ pageSize: 1000, pageToken });
    all.push(...page.tenants);
    pageToken = page.nextPageToken;
  } while (pageToken && all.length < 10000);
  return all;
}

/** A ConnectError's message as a person should read it. */
export function describeError(error) {
  const code = error?.code;
  const message = error?.rawMessage ?? error?.message ?? String(error);
  switch (code) {
    case 16:
      return `Not signed in, or the token expired: ${message}`;
    case 7:
      return `Not allowed: ${message}`;
    case 14:
      return `The server is unavailable: ${message}`;
    default:
      return message;
  }
}
