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

async function start() {
  // A development token handed over in the fragment (`#token=<jwt>`): a fragment never reaches
  // a server's log. It is taken out of the address bar at once.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    signIn(fragment.get("token"));
    // `&next=/findings/T/F` opens a page of the console straight after (links in tickets).
    const next = fragment.get("next") ?? "/";
    history.replaceState(null, "", `${location.pathname}#${next.startsWith("/") ? next : "/"}`);
  }
  if (!token() || (identity()?.expiresAt ?? 0) < Date.now()) {
    signOut();
    return showSignIn();
  }
  try {
    for (const tenant of await listAllTenants()) context.tenants.set(tenant.tenantId, tenant);
  } catch (error) {
    if (error?.code === 16) {
      signOut();
      return showSignIn(describeError(error));
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

async function showSignIn(problem) {
  replace(nav);
  const config = await fetch("/config.json").then((r) => r.json()).catch(() => ({}));
  const pasted = h("textarea", { id: "token-input", rows: 4, placeholder: "eyJhbGciOi…" });
  replace(
    main,
    h(
      "section",
      { class: "card sign-in" },
      h("h1", {}, "Sign in to tokenwatch"),
      problem && h("p", { class: "error" }, problem),
      config.oidc &&
        h("p", {}, h("a", { class: "button", href: "#", id: "oidc-sign-in" }, "Sign in with your organisation")),
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
