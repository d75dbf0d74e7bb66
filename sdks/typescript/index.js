// tokenwatch's client SDK for TypeScript and JavaScript: the messages and service descriptors
// generated from the contracts (`@tokenwatch/sdk/<service>/v1`), and a gRPC transport that sends
// the bearer token with every call. Clients come from Connect: createClient(IngestService, t).
import { createGrpcTransport } from "@connectrpc/connect-node";

export { createClient } from "@connectrpc/connect";

/**
 * A gRPC transport (HTTP/2) to `baseUrl` whose calls carry `token` as a bearer token.
 */
export function createTokenwatchTransport({ baseUrl, token }) {
  const bearer = (next) => async (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  return createGrpcTransport({ baseUrl, interceptors: [bearer] });
}
