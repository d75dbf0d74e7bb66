use crate::Role;

/// An operation an RPC performs. Each RPC names exactly one; roles hold sets of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See tenants (only those in the caller's scope are listed).
    TenantsRead,
    /// Register and remove tenants.
    TenantsManage,
    /// Send records for ingestion.
    Ingest,
    /// Read ingest statistics and quarantined records.
    IngestRead,
    /// Read baselines.
    BaselinesRead,
    /// Rebuild baselines from history.
    BaselinesRebuild,
    /// Read findings, incidents and their evidence; follow the stream.
    FindingsRead,
    /// Move findings through the workflow.
    FindingsTriage,
    /// Score a session on demand.
    SessionsEvaluate,
    /// Read weight sets and their history.
    WeightsRead,
    /// Change, pin or roll back weight sets.
    WeightsManage,
    /// Read verdicts.
    VerdictsRead,
    /// Submit verdicts.
    VerdictsSubmit,
    /// Read suppressions and suggestions.
    SuppressionsRead,
    /// Create and delete suppressions.
    SuppressionsManage,
    /// Read actions and response policy.
    ActionsRead,
    /// Propose an action.
    ActionsPropose,
    /// Approve, reject or execute actions; set response policy and Graph credentials.
    ActionsManage,
    /// Connect the MSP's PSA and map tenants to its companies (MSP-wide).
    PsaManage,
}

impl Permission {
    /// Whether the role holds this permission. The whole access matrix is this one match.
    pub fn granted_to(self, role: Role) -> bool {
        use Permission::*;
        match role {
            Role::MspAdmin => true,
            Role::Analyst => matches!(
                self,
                TenantsRead
                    | Ingest
                    | IngestRead
                    | BaselinesRead
                    | FindingsRead
                    | FindingsTriage
                    | SessionsEvaluate
                    | WeightsRead
                    | VerdictsRead
                    | VerdictsSubmit
                    | SuppressionsRead
                    | SuppressionsManage
                    | ActionsRead
                    | ActionsPropose
            ),
            Role::DetectionEngineer => matches!(
                self,
                TenantsRead
                    | IngestRead
                    | BaselinesRead
                    | BaselinesRebuild
                    | FindingsRead
                    | SessionsEvaluate
                    | WeightsRead
                    | WeightsManage
                    | VerdictsRead
                    | SuppressionsRead
                    | SuppressionsManage
                    | ActionsRead
            ),
            Role::TenantViewer => matches!(
                self,
                TenantsRead
                    | FindingsRead
                    | WeightsRead
                    | VerdictsRead
                    | SuppressionsRead
                    | ActionsRead
            ),
            Role::Service => matches!(
                self,
                TenantsRead
                    | Ingest
                    | IngestRead
                    | BaselinesRead
                    | BaselinesRebuild
                    | FindingsRead
                    | SessionsEvaluate
                    | WeightsRead
                    | VerdictsRead
                    | SuppressionsRead
                    | ActionsRead
                    | ActionsPropose
            ),
        }
    }
}
