// The console's shell: sign-in, navigation, and the routes (#/, #/findings/T/F, #/tenants).
import { describeError, identity, listAllTenants, signIn, signOut, token } from "./api.js";
import { h, replace } from "./dom.js";
import { renderFinding } from "./finding.js";
import { renderQueue } from "./queue.js";
import { renderTenants } from "./tenants.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let stopView = () => {};
const context = { tenants: new Map() };

const PKCE_KEY = "tokenwatch.pkce";

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** To the identity provider: authorization code with PKCE (S256), the answer in the fragment,
 * so neither the code nor anything else reaches a server's log. */
async function startSignIn(oidc) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const url = new URL(oidc.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: oidc.client_id,
    response_type: "code",
    redirect_uri: `${location.origin}/`,
    scope: oidc.scopes,
    state,
    response_mode: "fragment",
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

/** Back from the provider: the code redeemed with this tab's verifier for an access token. */
async function finishSignIn(oidc, fragment) {
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", `${location.pathname}#/`);
  if (fragment.get("error")) throw new Error(fragment.get("error_description") ?? fragment.get("error"));
  if (!pending || pending.state !== fragment.get("state")) {
    throw new Error("This sign-in answer is not for a sign-in this tab started; sign in again.");
  }
  const answer = await fetch(oidc.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: oidc.client_id,
      grant_type: "authorization_code",
      code: fragment.get("code"),
      redirect_uri: `${location.origin}/`,
      code_verifier: pending.verifier,
    }),
  });
  const body = await answer.json();
  if (!answer.ok || !body.access_token) throw new Error(body.error_description ?? body.error ?? `HTTP ${answer.status}`);
  signIn(body.access_token);
}

async function start() {
  const config = await fetch("/config.json").then((r) => r.json()).catch(() => ({}));
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (config.oidc && (fragment.get("code") || fragment.get("error"))) {
    try {
      await finishSignIn(config.oidc, fragment);
    } catch (error) {
      return showSignIn(config, `Sign-in failed: ${error.message}`);
    }
  }
  // A development token handed over in the fragment (`#token=<jwt>`): a fragment never reaches
  // a server's log. It is taken out of the address bar at once.
  if (config.dev_auth && fragment.get("token")) {
    signIn(fragment.get("token"));
    // `&next=/findings/T/F` opens a page of the console straight after (links in tickets).
    const next = fragment.get("next") ?? "/";
    history.replaceState(null, "", `${location.pathname}#${next.startsWith("/") ? next : "/"}`);
  }
  if (!token() || (identity()?.expiresAt ?? 0) < Date.now()) {
    signOut();
    return showSignIn(config);
  }
  try {
    for (const tenant of await listAllTenants()) context.tenants.set(tenant.tenantId, tenant);
  } catch (error) {
    if (error?.code === 16) {
      signOut();
      return showSignIn(config, describeError(error));
    }
    replace(main, h("p", { class: "error" }, describeError(error)));
  }
  drawNav();
  window.addEventListener("hashchange", route);
  route();
}

function drawNav() {
  const me = identity();
  replace(
    nav,
    h("a", { href: "#/", id: "nav-findings" }, "Findings"),
    h("a", { href: "#/tenants", id: "nav-tenants" }, "Tenants"),
    h("span", { class: "spacer" }),
    h("span", { class: "who", id: "who", title: me?.roles.join(", ") }, me?.name ?? ""),
    h("button", { class: "link", id: "sign-out", onclick: () => (signOut(), location.reload()) }, "Sign out"),
  );
}

function route() {
  stopView();
  stopView = () => {};
  const [path, queryText] = location.hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean);
  for (const link of nav.querySelectorAll("a")) link.classList.remove("current");
  if (parts[0] === "findings" && parts.length === 3) {
    nav.querySelector("#nav-findings")?.classList.add("current");
    renderFinding(main, decodeURIComponent(parts[1]), decodeURIComponent(parts[2]), context);
  } else if (parts[0] === "tenants") {
    nav.querySelector("#nav-tenants")?.classList.add("current");
    renderTenants(main, context);
  } else {
    nav.querySelector("#nav-findings")?.classList.add("current");
    stopView = renderQueue(main, new URLSearchParams(queryText ?? ""), context);
  }
}

function showSignIn(config, problem) {
  replace(nav);
  const pasted = h("textarea", { id: "token-input", rows: 4, placeholder: "eyJhbGciOi…" });
  replace(
    main,
    h(
      "section",
      { class: "card sign-in" },
      h("h1", {}, "Sign in to tokenwatch"),
      problem && h("p", { class: "error" }, problem),
      config.oidc &&
        h("p", {}, h("button", { id: "oidc-sign-in", onclick: () => startSignIn(config.oidc) }, "Sign in with your organisation")),
      config.dev_auth
        ? h(
            "form",
            {
              id: "token-form",
              onsubmit: (event) => {
                event.preventDefault();
                signIn(pasted.value);
                location.hash = "#/";
                location.reload();
              },
            },
            h("p", { class: "muted" }, "Development sign-in: paste a token from `tokenwatch token issue`."),
            pasted,
            h("button", { type: "submit", id: "token-submit" }, "Sign in"),
          )
        : !config.oidc && h("p", { class: "muted" }, "No sign-in is configured on this server."),
    ),
  );
}

start();
