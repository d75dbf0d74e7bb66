// A small DOM builder: text is always set as text, never parsed as HTML, so nothing a log
// record carries (a user agent, a display name) can become markup or script.

/** An element: `h("a", { href: "#/", class: "x", onclick }, "text", child, ...)`. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "style") {
      // Through the CSSOM: a style attribute would be inline style, which the page's CSP refuses.
      Object.assign(element.style, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else if (child instanceof Node) element.append(child);
    else element.append(document.createTextNode(String(child)));
  }
}

/** Replaces `element`'s children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** `2026-12-03 14:05 UTC`, or "—". */
export function when(timestamp) {
  const date = toDate(timestamp);
  if (!date) return "—";
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "5 min ago", "3 h ago", "2 d ago". */
export function ago(timestamp, now = Date.now()) {
  const date = toDate(timestamp);
  if (!date) return "—";
  const seconds = Math.max(0, (now - date.getTime()) / 1000);
  if (seconds < 90) return "just now";
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/** A protobuf Timestamp (or Date) as a Date; undefined when unset. */
export function toDate(timestamp) {
  if (!timestamp) return undefined;
  if (timestamp instanceof Date) return timestamp;
  const millis = Number(timestamp.seconds ?? 0n) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6);
  return millis > 0 ? new Date(millis) : undefined;
}

/** A Date as a protobuf Timestamp. */
export function timestamp(date) {
  const millis = date.getTime();
  return { seconds: BigInt(Math.floor(millis / 1000)), nanos: (millis % 1000) * 1e6 };
}

/** `0.734` → "0.73". */
export function number(value, digits = 2) {
  return Number.isFinite(value) ? value.toFixed(digits) : "—";
}
