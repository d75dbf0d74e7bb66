//! The settings RPCs: the response policy, Graph credentials and webhooks.

use tokenwatch_auth::{Permission, authorize};
use tokenwatch_error::invalid_argument;
use tokenwatch_proto::response::v1::*;
use tokenwatch_proto::tonic::{Request, Response, Status};
use tokenwatch_storage::actions;
use tokenwatch_storage::credentials::{self, SealedCredentials};
use tokenwatch_storage::notifications;
use tokenwatch_types::Severity;
use uuid::Uuid;

use crate::convert::*;
use crate::error::fail;
use crate::policy::Policy;
use crate::{ResponseApi, parse_id};

pub(crate) async fn get_response_policy(
    api: &ResponseApi,
    request: Request<GetResponsePolicyRequest>,
) -> Result<Response<GetResponsePolicyResponse>, Status> {
    let (tenant, _) = authorize(
        &request,
        Permission::ActionsRead,
        &request.get_ref().tenant_id,
    )?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let stored = actions::get_policy(&mut tx).await.map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    let (policy, time) = match stored {
        Some((json, time)) => (serde_json::from_value(json).unwrap_or_default(), Some(time)),
        None => (Policy::default(), None),
    };
    Ok(Response::new(GetResponsePolicyResponse {
        policy: Some(policy_to_proto(&tenant.to_string(), &policy, time)),
    }))
}

pub(crate) async fn set_response_policy(
    api: &ResponseApi,
    request: Request<SetResponsePolicyRequest>,
) -> Result<Response<SetResponsePolicyResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::ActionsManage,
        &request.get_ref().tenant_id,
    )?;
    let r = request.into_inner();
    let policy = policy_from_proto(
        r.policy
            .as_ref()
            .ok_or_else(|| invalid_argument("policy", "is required"))?,
    )?;
    let json = serde_json::to_value(&policy).map_err(fail)?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let time = actions::set_policy(&mut tx, &json, &claims.subject)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    tracing::info!(actor = %claims.subject, policy = %json, "response policy set");
    Ok(Response::new(SetResponsePolicyResponse {
        policy: Some(policy_to_proto(&tenant.to_string(), &policy, Some(time))),
    }))
}

pub(crate) async fn set_graph_credentials(
    api: &ResponseApi,
    request: Request<SetGraphCredentialsRequest>,
) -> Result<Response<SetGraphCredentialsResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::ActionsManage,
        &request.get_ref().tenant_id,
    )?;
    let sealer = api.sealer("Graph credentials")?;
    let r = request.into_inner();
    if r.client_id.trim().is_empty() {
        return Err(invalid_argument("client_id", "is required"));
    }
    let (kind, secret) = match r.secret {
        Some(set_graph_credentials_request::Secret::ClientSecret(secret)) if !secret.is_empty() => {
            ("client_secret", secret)
        }
        Some(set_graph_credentials_request::Secret::CertificatePem(pem)) => {
            // Checked now, so a bad upload fails here rather than at the first action.
            tokenwatch_graph::Certificate::from_pem(&pem)
                .map_err(|problem| invalid_argument("certificate_pem", problem))?;
            ("certificate", pem)
        }
        _ => {
            return Err(invalid_argument(
                "secret",
                "give client_secret, or certificate_pem (PEM certificate and key)",
            ));
        }
    };
    let sealed = SealedCredentials {
        client_id: r.client_id.trim().to_owned(),
        kind: kind.to_owned(),
        sealed: sealer.seal(&tenant.to_string(), secret.as_bytes()),
        key_id: sealer.key_id().to_owned(),
        update_time: chrono::Utc::now(),
    };
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let time = credentials::set_credentials(&mut tx, &sealed, &claims.subject)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    tracing::info!(actor = %claims.subject, kind, key_id = sealer.key_id(), "graph credentials set");
    Ok(Response::new(SetGraphCredentialsResponse {
        update_time: Some(tokenwatch_proto::to_timestamp(time)),
    }))
}

pub(crate) async fn delete_graph_credentials(
    api: &ResponseApi,
    request: Request<DeleteGraphCredentialsRequest>,
) -> Result<Response<DeleteGraphCredentialsResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::ActionsManage,
        &request.get_ref().tenant_id,
    )?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let deleted = credentials::delete_credentials(&mut tx, &claims.subject)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    if !deleted {
        return Err(Status::not_found(format!(
            "tenant {tenant} has no Graph credentials"
        )));
    }
    tracing::info!(actor = %claims.subject, "graph credentials deleted");
    Ok(Response::new(DeleteGraphCredentialsResponse {}))
}

pub(crate) async fn add_webhook(
    api: &ResponseApi,
    request: Request<AddWebhookRequest>,
) -> Result<Response<AddWebhookResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::ActionsManage,
        &request.get_ref().tenant_id,
    )?;
    let sealer = api.sealer("webhook secrets")?;
    let r = request.into_inner();
    let url = r.url.trim();
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| invalid_argument("url", "give an http or https URL"))?;
    api.destinations
        .check_url(&parsed)
        .map_err(|refused| invalid_argument("url", refused.to_string()))?;
    let format = match WebhookFormat::try_from(r.format) {
        Ok(WebhookFormat::Generic) => "generic",
        Ok(WebhookFormat::Slack) => "slack",
        Ok(WebhookFormat::Teams) => "teams",
        _ => return Err(invalid_argument("format", "give generic, slack or teams")),
    };
    if r.secret.len() < 16 {
        return Err(invalid_argument(
            "secret",
            "give an HMAC key of at least 16 characters (openssl rand -hex 32)",
        ));
    }
    let min_severity =
        tokenwatch_proto::severity_from_proto(r.min_severity).unwrap_or(Severity::Low);
    let webhook = notifications::WebhookRow {
        webhook_id: Uuid::new_v4(),
        url: parsed.to_string(),
        format: format.to_owned(),
        min_severity: min_severity.to_string(),
        sealed_secret: sealer.seal(&tenant.to_string(), r.secret.as_bytes()),
        key_id: sealer.key_id().to_owned(),
        created_by: claims.subject.clone(),
        create_time: chrono::Utc::now(),
    };
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    notifications::add_webhook(&mut tx, &webhook)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    tracing::info!(actor = %claims.subject, format, host = parsed.host_str().unwrap_or_default(), "webhook added");
    Ok(Response::new(AddWebhookResponse {
        webhook: Some(webhook_to_proto(&tenant.to_string(), &webhook)),
    }))
}

pub(crate) async fn list_webhooks(
    api: &ResponseApi,
    request: Request<ListWebhooksRequest>,
) -> Result<Response<ListWebhooksResponse>, Status> {
    let (tenant, _) = authorize(
        &request,
        Permission::ActionsRead,
        &request.get_ref().tenant_id,
    )?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let webhooks = notifications::list_webhooks(&mut tx).await.map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    let tenant = tenant.to_string();
    Ok(Response::new(ListWebhooksResponse {
        webhooks: webhooks
            .iter()
            .map(|w| webhook_to_proto(&tenant, w))
            .collect(),
    }))
}

pub(crate) async fn delete_webhook(
    api: &ResponseApi,
    request: Request<DeleteWebhookRequest>,
) -> Result<Response<DeleteWebhookResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::ActionsManage,
        &request.get_ref().tenant_id,
    )?;
    let id = parse_id("webhook_id", &request.get_ref().webhook_id)?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    notifications::delete_webhook(&mut tx, id, &claims.subject)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    Ok(Response::new(DeleteWebhookResponse {}))
}
