use tokenwatch_types::TenantId;

use crate::cli::TokenCommand;

/// Mints a token and prints it alone on stdout, for `export TOKENWATCH_TOKEN=$(...)`.
pub(crate) fn run(command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Issue(args) = command;
    let tenants = args
        .tenants
        .iter()
        .map(|t| match t.as_str() {
            "*" => Ok("*".to_owned()),
            other => TenantId::parse(other).map(|id| id.to_string()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signer = args.auth.signer()?;
    let token = signer.issue(&args.subject, &args.roles, &tenants, args.ttl)?;
    crate::output::line(&token)?;
    Ok(())
}
