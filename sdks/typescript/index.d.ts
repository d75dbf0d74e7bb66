import type { Transport } from "@connectrpc/connect";

export { createClient } from "@connectrpc/connect";

/** A gRPC transport (HTTP/2) to `baseUrl` whose calls carry `token` as a bearer token. */
export declare function createTokenwatchTransport(options: {
  /** `http://127.0.0.1:50051`, or `https://...` behind TLS. */
  baseUrl: string;
  /** A bearer token (`tokenwatch token issue ...` in development). */
  token: string;
}): Transport;
