import type { Transport } from "@connectrpc/connect";

export { createClient } from "@connectrpc/connect";

/** A gRPC-Web transport whose calls carry the bearer token `getToken()` returns at each call. */
export declare function createTokenwatchWebTransport(options: {
  /** The server's web address (`--http-addr`); the page's own origin when omitted. */
  baseUrl?: string;
  /** The current bearer token, or nothing when signed out. */
  getToken: () => string | undefined | Promise<string | undefined>;
}): Transport;
