//! The PSA RPCs: the MSP's connection (set, read, test), its companies, each tenant's mapping
//! and ticket status.

use tokenwatch_auth::{Permission, authorize, authorize_scope};
use tokenwatch_error::invalid_argument;
use tokenwatch_proto::response::v1::*;
use tokenwatch_proto::tonic::{Request, Response, Status};
use tokenwatch_proto::{severity_from_proto, severity_to_proto, to_timestamp};
use tokenwatch_psa::{Identity, PsaClient, PsaError, TicketSettings};
use tokenwatch_storage::psa::{self as store, CompanyMapping, PsaConnectionRow};

use crate::ResponseApi;
use crate::error::fail;
use crate::ticketing::{SEAL_CONTEXT, StoredSettings, client_of};

/// Severities a priority can be given for.
const PRIORITY_KEYS: [&str; 4] = ["low", "medium", "high", "critical"];

pub(crate) async fn set_psa_connection(
    api: &ResponseApi,
    request: Request<SetPsaConnectionRequest>,
) -> Result<Response<SetPsaConnectionResponse>, Status> {
    let (_, claims) = authorize_scope(&request, Permission::PsaManage, "")?;
    let sealer = api.sealer("the PSA secret")?;
    let r = request.into_inner();
    let c = r
        .connection
        .ok_or_else(|| invalid_argument("connection", "is required"))?;
    let kind = match PsaKind::try_from(c.kind) {
        Ok(PsaKind::Connectwise) => tokenwatch_psa::PsaKind::ConnectWise,
        Ok(PsaKind::Autotask) => tokenwatch_psa::PsaKind::Autotask,
        Ok(PsaKind::Halopsa) => tokenwatch_psa::PsaKind::HaloPsa,
        _ => {
            return Err(invalid_argument(
                "connection.kind",
                "give connectwise, autotask or halopsa",
            ));
        }
    };
    let url = reqwest::Url::parse(c.url.trim())
        .map_err(|_| invalid_argument("connection.url", "give the PSA's https URL"))?;
    api.destinations
        .check_url(&url)
        .map_err(|refused| invalid_argument("connection.url", refused.to_string()))?;
    if r.secret.is_empty() {
        return Err(invalid_argument(
            "secret",
            "give the private key (ConnectWise), secret (Autotask) or client secret (HaloPSA)",
        ));
    }
    let tickets = settings_from(kind, c.tickets.as_ref())?;
    let settings = StoredSettings {
        identity: Identity {
            company_id: c.company_id.trim().to_owned(),
            public_key: c.public_key.trim().to_owned(),
            client_id: c.client_id.trim().to_owned(),
            username: c.username.trim().to_owned(),
            integration_code: c.integration_code.trim().to_owned(),
            auth_url: c.auth_url.trim().to_owned(),
        },
        tickets,
    };
    if !settings.identity.auth_url.is_empty() {
        let auth = reqwest::Url::parse(&settings.identity.auth_url)
            .map_err(|_| invalid_argument("connection.auth_url", "is not a URL"))?;
        api.destinations
            .check_url(&auth)
            .map_err(|refused| invalid_argument("connection.auth_url", refused.to_string()))?;
    }
    let row = PsaConnectionRow {
        kind: kind.as_str().to_owned(),
        url: url.to_string().trim_end_matches('/').to_owned(),
        settings: serde_json::to_value(&settings).map_err(fail)?,
        sealed_secret: sealer.seal(SEAL_CONTEXT, r.secret.as_bytes()),
        key_id: sealer.key_id().to_owned(),
        updated_by: claims.subject.clone(),
        update_time: chrono::Utc::now(),
    };
    // A connection that cannot make a client (a missing identifier) is refused now.
    client_of(&row, Some(sealer), std::sync::Arc::clone(&api.destinations))
        .map_err(|problem| invalid_argument("connection", problem))?;
    store::set_connection(&api.database, &row)
        .await
        .map_err(fail)?;
    tracing::info!(actor = %claims.subject, kind = kind.as_str(), host = url.host_str().unwrap_or_default(), "PSA connection set");
    Ok(Response::new(SetPsaConnectionResponse {
        connection: Some(connection_to_proto(&row)),
    }))
}

pub(crate) async fn get_psa_connection(
    api: &ResponseApi,
    request: Request<GetPsaConnectionRequest>,
) -> Result<Response<GetPsaConnectionResponse>, Status> {
    authorize_scope(&request, Permission::PsaManage, "")?;
    let row = store::get_connection(&api.database).await.map_err(fail)?;
    Ok(Response::new(GetPsaConnectionResponse {
        connection: row.as_ref().map(connection_to_proto),
    }))
}

pub(crate) async fn test_psa_connection(
    api: &ResponseApi,
    request: Request<TestPsaConnectionRequest>,
) -> Result<Response<TestPsaConnectionResponse>, Status> {
    authorize_scope(&request, Permission::PsaManage, "")?;
    let client = client(api).await?;
    let checks: Vec<PsaCheck> = client
        .check()
        .await
        .into_iter()
        .map(|c| PsaCheck {
            name: c.what,
            ok: c.ok,
            detail: c.detail,
        })
        .collect();
    Ok(Response::new(TestPsaConnectionResponse {
        ok: checks.iter().all(|c| c.ok),
        checks,
    }))
}

pub(crate) async fn list_psa_companies(
    api: &ResponseApi,
    request: Request<ListPsaCompaniesRequest>,
) -> Result<Response<ListPsaCompaniesResponse>, Status> {
    authorize_scope(&request, Permission::PsaManage, "")?;
    let r = request.into_inner();
    let limit = match r.page_size {
        0 => 50,
        n if n < 0 => return Err(invalid_argument("page_size", "must not be negative")),
        n => n.min(500) as usize,
    };
    let client = client(api).await?;
    let companies = client
        .companies(r.search.trim(), limit)
        .await
        .map_err(psa_failure)?;
    Ok(Response::new(ListPsaCompaniesResponse {
        companies: companies
            .into_iter()
            .map(|c| PsaCompany {
                company_id: c.id,
                name: c.name,
            })
            .collect(),
    }))
}

pub(crate) async fn map_psa_company(
    api: &ResponseApi,
    request: Request<MapPsaCompanyRequest>,
) -> Result<Response<MapPsaCompanyResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::PsaManage,
        &request.get_ref().tenant_id,
    )?;
    let company_id = request.get_ref().company_id.trim().to_owned();
    if company_id.is_empty() {
        return Err(invalid_argument(
            "company_id",
            "give the PSA's company id (tokenwatch psa companies lists them)",
        ));
    }
    // The company must exist: a typo would send every ticket nowhere.
    let company = client(api)
        .await?
        .company(&company_id)
        .await
        .map_err(|error| match error {
            PsaError::Rejected { status: 404, .. } | PsaError::Settings(_) => invalid_argument(
                "company_id",
                format!("the PSA has no company {company_id}: {error}"),
            ),
            other => psa_failure(other),
        })?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let mapping = store::map_company(&mut tx, &company.id, &company.name, &claims.subject)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    tracing::info!(actor = %claims.subject, company = %company.id, "tenant mapped to a PSA company");
    Ok(Response::new(MapPsaCompanyResponse {
        mapping: Some(mapping_to_proto(&tenant.to_string(), &mapping)),
    }))
}

pub(crate) async fn get_psa_status(
    api: &ResponseApi,
    request: Request<GetPsaStatusRequest>,
) -> Result<Response<GetPsaStatusResponse>, Status> {
    let (tenant, _) = authorize(
        &request,
        Permission::ActionsRead,
        &request.get_ref().tenant_id,
    )?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let mapping = store::get_mapping(&mut tx).await.map_err(fail)?;
    let cursor = store::get_cursor(&mut tx).await.map_err(fail)?;
    let backlog = match &cursor {
        Some(_) => store::backlog(&mut tx).await.map_err(fail)?,
        None => 0,
    };
    let tickets = store::list_tickets(&mut tx, 100).await.map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    let tenant = tenant.to_string();
    let failing = cursor.as_ref().filter(|c| !c.last_error.is_empty());
    Ok(Response::new(GetPsaStatusResponse {
        mapping: mapping.as_ref().map(|m| mapping_to_proto(&tenant, m)),
        backlog,
        last_error: failing.map(|c| c.last_error.clone()).unwrap_or_default(),
        next_attempt_time: failing.map(|c| to_timestamp(c.next_attempt_time)),
        tickets: tickets
            .iter()
            .map(|t| PsaTicket {
                incident_id: t.incident_id.to_string(),
                ticket_id: t.ticket_id.clone(),
                ticket_number: t.ticket_number.clone(),
                company_id: t.company_id.clone(),
                state: t.state.clone(),
                severity: t
                    .severity
                    .parse()
                    .map(|s| severity_to_proto(s) as i32)
                    .unwrap_or_default(),
                create_time: Some(to_timestamp(t.create_time)),
                update_time: Some(to_timestamp(t.update_time)),
            })
            .collect(),
    }))
}

/// The client for the stored connection, or why there is none.
async fn client(api: &ResponseApi) -> Result<PsaClient, Status> {
    let row = store::get_connection(&api.database)
        .await
        .map_err(fail)?
        .ok_or_else(|| {
            Status::failed_precondition("no PSA is connected (tokenwatch psa connect)")
        })?;
    client_of(
        &row,
        api.sealer.as_deref(),
        std::sync::Arc::clone(&api.destinations),
    )
    .map_err(Status::failed_precondition)
}

/// A PSA failure as the caller sees it: UNAVAILABLE when waiting may help, else
/// FAILED_PRECONDITION with the PSA's words.
fn psa_failure(error: PsaError) -> Status {
    if error.is_transient() {
        Status::unavailable(error.to_string())
    } else {
        Status::failed_precondition(error.to_string())
    }
}

fn settings_from(
    kind: tokenwatch_psa::PsaKind,
    given: Option<&PsaTicketSettings>,
) -> Result<TicketSettings, Status> {
    let mut settings = TicketSettings::defaults(kind);
    let Some(given) = given else {
        return Ok(settings);
    };
    if given.min_severity != 0 {
        settings.min_severity = severity_from_proto(given.min_severity)
            .ok_or_else(|| invalid_argument("tickets.min_severity", "is not a severity"))?;
    }
    for (field, value) in [
        (&mut settings.board, &given.board),
        (&mut settings.ticket_type, &given.ticket_type),
        (&mut settings.new_status, &given.new_status),
        (&mut settings.closed_status, &given.closed_status),
    ] {
        if !value.trim().is_empty() {
            *field = value.trim().to_owned();
        }
    }
    for (severity, priority) in &given.priorities {
        if !PRIORITY_KEYS.contains(&severity.as_str()) {
            return Err(invalid_argument(
                "tickets.priorities",
                format!("{severity:?} is not low, medium, high or critical"),
            ));
        }
        settings
            .priorities
            .insert(severity.clone(), priority.trim().to_owned());
    }
    Ok(settings)
}

fn connection_to_proto(row: &PsaConnectionRow) -> PsaConnection {
    let settings: Option<StoredSettings> = serde_json::from_value(row.settings.clone()).ok();
    let (identity, tickets) = match settings {
        Some(s) => (s.identity, Some(s.tickets)),
        None => (Identity::default(), None),
    };
    PsaConnection {
        kind: match row.kind.as_str() {
            "connectwise" => PsaKind::Connectwise,
            "autotask" => PsaKind::Autotask,
            "halopsa" => PsaKind::Halopsa,
            _ => PsaKind::Unspecified,
        }
        .into(),
        url: row.url.clone(),
        auth_url: identity.auth_url,
        company_id: identity.company_id,
        public_key: identity.public_key,
        client_id: identity.client_id,
        username: identity.username,
        integration_code: identity.integration_code,
        tickets: tickets.map(|t| PsaTicketSettings {
            min_severity: severity_to_proto(t.min_severity).into(),
            board: t.board,
            ticket_type: t.ticket_type,
            new_status: t.new_status,
            closed_status: t.closed_status,
            priorities: t.priorities.into_iter().collect(),
        }),
        updated_by: row.updated_by.clone(),
        update_time: Some(to_timestamp(row.update_time)),
    }
}

fn mapping_to_proto(tenant: &str, m: &CompanyMapping) -> PsaCompanyMapping {
    PsaCompanyMapping {
        tenant_id: tenant.to_owned(),
        company_id: m.company_id.clone(),
        company_name: m.company_name.clone(),
        mapped_by: m.mapped_by.clone(),
        map_time: Some(to_timestamp(m.map_time)),
    }
}
