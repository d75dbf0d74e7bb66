//! Records in the real formats: Management Activity UAL JSON and Graph sign-in pages.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;

use crate::networks::Net;
use crate::world::{Device, Tenant, User, World};

/// Collects records per tenant.
#[derive(Debug)]
pub(crate) struct Emitter {
    ual: BTreeMap<String, Vec<serde_json::Value>>,
    signins: BTreeMap<String, Vec<serde_json::Value>>,
    /// (tenant, user, day) -> the laptop session of that day.
    sessions: BTreeMap<(String, String, i64), String>,
    /// (tenant, user) -> the laptop's PRT session and the day (since the epoch) it is re-issued.
    laptop_sessions: BTreeMap<(String, String), (String, i64)>,
    /// (tenant, user) -> the phone's broker session, which lives for weeks.
    phone_sessions: BTreeMap<(String, String), String>,
    /// (tenant, session) -> networks used, and the user.
    session_networks: BTreeMap<(String, String), (String, BTreeSet<String>)>,
    counter: u64,
    seed: u64,
}

fn workload(operation: &str) -> (&'static str, u32) {
    match operation {
        "MailItemsAccessed" | "Send" => ("Exchange", 50),
        "New-InboxRule" | "Set-InboxRule" | "Set-Mailbox" => ("Exchange", 1),
        _ => ("SharePoint", 6),
    }
}

impl Emitter {
    pub(crate) fn new(seed: u64) -> Self {
        Emitter {
            ual: BTreeMap::new(),
            signins: BTreeMap::new(),
            sessions: BTreeMap::new(),
            session_networks: BTreeMap::new(),
            phone_sessions: BTreeMap::new(),
            laptop_sessions: BTreeMap::new(),
            counter: 0,
            seed,
        }
    }

    pub(crate) fn session_id(&self, rng: &mut StdRng) -> String {
        crate::world::session_id(rng)
    }

    /// The laptop's session on `day` (days since the epoch) and whether it starts here: a PRT
    /// session carries the device for 4-9 days before it is re-issued, so most days continue
    /// one, and the first was open before the data began; `fresh` (a new device) starts another.
    pub(crate) fn laptop_session(
        &mut self,
        tenant: &str,
        user: &str,
        day: i64,
        fresh: bool,
        rng: &mut StdRng,
    ) -> (String, bool) {
        let key = (tenant.to_owned(), user.to_owned());
        if let Some((session, until)) = self.laptop_sessions.get(&key)
            && day < *until
            && !fresh
        {
            return (session.clone(), false);
        }
        // The first session of a run began before the data did: no sign-in starts it here.
        let older_than_data = !fresh && !self.laptop_sessions.contains_key(&key);
        let session = crate::world::session_id(rng);
        let until = if fresh {
            day + 1
        } else if older_than_data {
            day + rng.random_range(1..=9)
        } else {
            day + rng.random_range(4..=9)
        };
        self.laptop_sessions.insert(key, (session.clone(), until));
        (session, !older_than_data)
    }

    /// The user's phone session: the broker's, kept for the whole run.
    pub(crate) fn phone_session(&mut self, tenant: &str, user: &str, rng: &mut StdRng) -> String {
        self.phone_sessions
            .entry((tenant.to_owned(), user.to_owned()))
            .or_insert_with(|| crate::world::session_id(rng))
            .clone()
    }

    fn next_id(&mut self) -> String {
        self.counter += 1;
        format!(
            "{:08x}-5e55-4000-8000-{:012x}",
            self.seed as u32, self.counter
        )
    }

    fn note_network(&mut self, tenant: &Tenant, user: &User, session: &str, net: &Net) {
        self.session_networks
            .entry((tenant.id.clone(), session.to_owned()))
            .or_insert_with(|| (user.upn.clone(), BTreeSet::new()))
            .1
            .insert(format!("{}:{}", net.asn, net.address_key()));
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sign_in(
        &mut self,
        tenant: &Tenant,
        user: &User,
        session: &str,
        time: DateTime<Utc>,
        net: &Net,
        device: &Device,
        interactive: bool,
        rng: &mut StdRng,
    ) {
        self.note_network(tenant, user, session, net);
        let id = self.next_id();
        let address = net.address(rng, time.timestamp() / 86_400);
        let record = json!({
            "id": id,
            "createdDateTime": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "userDisplayName": user.upn.split('@').next(),
            "userPrincipalName": user.upn,
            "userId": user.object_id,
            "appId": "00000002-0000-0ff1-ce00-000000000000",
            "appDisplayName": "Office 365 Exchange Online",
            "ipAddress": address.ip,
            "clientAppUsed": "Browser",
            "isInteractive": interactive,
            "resourceTenantId": tenant.id,
            "sessionId": session,
            "userAgent": device.user_agent,
            "status": {"errorCode": 0},
            "deviceDetail": {"deviceId": device.id, "operatingSystem": device.os, "browser": device.browser},
            // Microsoft's own enrichment of the address, as real sign-ins carry it.
            "autonomousSystemNumber": address.asn,
            "location": {"countryOrRegion": net.country},
        });
        self.signins
            .entry(tenant.id.clone())
            .or_default()
            .push(record);
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn activity(
        &mut self,
        tenant: &Tenant,
        user: &User,
        session: &str,
        time: DateTime<Utc>,
        net: &Net,
        device: &Device,
        operation: &str,
        rng: &mut StdRng,
    ) {
        self.note_network(tenant, user, session, net);
        let (workload, record_type) = workload(operation);
        let id = self.next_id();
        let mut record = json!({
            "CreationTime": time.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "Id": id,
            "Operation": operation,
            "OrganizationId": tenant.id,
            "RecordType": record_type,
            "UserKey": user.object_id,
            "UserType": 0,
            "Version": 1,
            "Workload": workload,
            "UserId": user.upn,
            "AppAccessContext": {"AADSessionId": session, "UniqueTokenId": format!("tok{}", self.counter)},
        });
        let address = net.address(rng, time.timestamp() / 86_400).ip;
        if workload == "Exchange" {
            let port = rng.random_range(1024..65535);
            let ip = if address.contains(':') {
                format!("[{address}]:{port}")
            } else {
                format!("{address}:{port}")
            };
            record["ClientIPAddress"] = ip.into();
            record["ClientInfoString"] = format!("Client=OWA;{};", device.user_agent).into();
        } else {
            record["ClientIP"] = address.into();
            record["UserAgent"] = device.user_agent.into();
            record["ObjectId"] = format!(
                "https://{}.sharepoint.com/doc{}.docx",
                &tenant.id[..8],
                self.counter
            )
            .into();
        }
        self.ual.entry(tenant.id.clone()).or_default().push(record);
    }

    pub(crate) fn remember_session(
        &mut self,
        tenant: &str,
        user: &str,
        session: &str,
        date: DateTime<Utc>,
    ) {
        self.sessions.insert(
            (
                tenant.to_owned(),
                user.to_owned(),
                date.timestamp() / 86_400,
            ),
            session.to_owned(),
        );
    }

    pub(crate) fn session_of(
        &self,
        tenant: &str,
        user: &str,
        date: DateTime<Utc>,
    ) -> Option<String> {
        self.sessions
            .get(&(
                tenant.to_owned(),
                user.to_owned(),
                date.timestamp() / 86_400,
            ))
            .cloned()
    }

    /// Sessions that used more than one network range, with their user.
    pub(crate) fn sessions_with_many_networks(&self, tenant: &str) -> Vec<(String, String)> {
        self.session_networks
            .iter()
            .filter(|((t, _), (_, nets))| t == tenant && nets.len() > 1)
            .map(|((_, session), (user, _))| (user.clone(), session.clone()))
            .collect()
    }

    pub(crate) fn records(&self) -> usize {
        self.ual.values().map(Vec::len).sum::<usize>()
            + self.signins.values().map(Vec::len).sum::<usize>()
    }

    pub(crate) fn into_files(self, world: &World) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        for tenant in &world.tenants {
            if let Some(records) = self.ual.get(&tenant.id) {
                files.push((
                    format!("ual-{}.json", &tenant.id[..8]),
                    serde_json::to_vec(records).expect("json"),
                ));
            }
            if let Some(records) = self.signins.get(&tenant.id) {
                let page = json!({
                    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
                    "value": records,
                });
                files.push((
                    format!("signins-{}.json", &tenant.id[..8]),
                    serde_json::to_vec(&page).expect("json"),
                ));
            }
        }
        files
    }
}
