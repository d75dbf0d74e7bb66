// The SDK in a browser: a gRPC-Web transport (what a browser can speak) whose calls carry the
// bearer token. tokenwatch serves gRPC-Web beside its console (`--http-addr`), on the same origin.
import { createGrpcWebTransport } from "@connectrpc/connect-web";

export { createClient } from "@connectrpc/connect";

/**
 * A gRPC-Web transport to `baseUrl` (the console's own origin by default) whose calls carry the
 * token `getToken()` returns at the time of each call, so a renewed token is used at once.
 */
export function createTokenwatchWebTransport({ baseUrl, getToken }) {
  const bearer = (next) => async (request) => {
    const token = await getToken();
    if (token) request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  return createGrpcWebTransport({
    baseUrl: baseUrl ?? globalThis.location?.origin,
    interceptors: [bearer],
  });
}
