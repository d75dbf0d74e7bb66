//! Who may call what, for which tenant.
//!
//! A request passes two gates. The [`AuthInterceptor`] runs before any handler: it verifies the
//! bearer JWT (signature with a key bound to one algorithm, `iss`, `aud`, `exp`, `nbf`) and puts
//! the verified [`Claims`] into the request's extensions, or answers UNAUTHENTICATED. Then the
//! handler's first line calls [`authorize`] with the [`Permission`] the RPC needs and the tenant
//! the request names; it answers PERMISSION_DENIED before any lookup, so nothing tells a caller
//! whether another tenant's object exists.
//!
//! # Layout
//!
//! - `claims`: [`Claims`], [`Role`], [`TenantScope`];
//! - `permission`: [`Permission`] and which roles hold each;
//! - `keys`: [`Verifier`] (verification keys from PEM files, a JWKS file or a development
//!   secret) and [`Signer`] (minting tokens);
//! - `oidc`: [`OidcTrust`], the MSP's identity provider: its published keys ([`OidcKeys`]) and
//!   the [`ClaimMapping`] of its app roles and groups to tokenwatch roles and tenants;
//! - `limits`: [`CallerLimits`], each caller's request rate and each address's refused tokens;
//! - `guard`: [`AuthInterceptor`], [`authorize`], [`authorize_scope`].

// The benchmarks' harness, linked into the unit tests too.
#[cfg(test)]
use criterion as _;

mod claims;
mod guard;
mod keys;
mod limits;
mod oidc;
mod permission;

pub use claims::{Claims, Role, TenantScope};
pub use guard::{AuthInterceptor, authorize, authorize_scope};
pub use keys::{AuthError, MAX_TOKEN_BYTES, Signer, Verifier, VerifierBuilder};
pub use limits::CallerLimits;
pub use oidc::{ClaimMapping, OidcKeys, OidcTrust};
pub use permission::Permission;
