"""tokenwatch's client SDK for Python.

The gRPC stubs and messages are generated from tokenwatch's contracts, one module pair per
service: ``tokenwatch.ingest.v1.ingest_pb2`` (messages) and ``ingest_pb2_grpc`` (the
``IngestServiceStub``), and likewise ``tenant``, ``baseline``, ``detection``, ``response``,
``feedback`` and ``common``. :func:`channel` opens a channel that sends the bearer token with
every call.
"""

from __future__ import annotations

from typing import Any, Callable

import grpc

__all__ = ["channel"]


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer <token>`` to every call's metadata."""

    def __init__(self, token: str) -> None:
        self._metadata = ("authorization", f"Bearer {token}")

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = list(details.metadata or []) + [self._metadata]
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation: Callable[..., Any], details: Any, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(self, continuation: Callable[..., Any], details: Any, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):  # type: ignore[no-untyped-def]
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def channel(target: str, token: str, *, tls: bool = False) -> grpc.Channel:
    """A channel to ``target`` (``host:port``) whose calls carry ``token``.

    ``tls`` verifies the server against the system's roots; without it the channel is plain
    HTTP/2, for a server on loopback or behind a TLS-terminating proxy.
    """
    if tls:
        base = grpc.secure_channel(target, grpc.ssl_channel_credentials())
    else:
        base = grpc.insecure_channel(target)
    return grpc.intercept_channel(base, _BearerToken(token))
