use crate::cli::ConfigCommand;

/// Prints the effective configuration, secrets hidden, and whether it would start.
pub(crate) fn run(command: ConfigCommand) -> anyhow::Result<()> {
    let ConfigCommand::Print(args) = command;
    let problems: Vec<String> = [
        args.server.validate_for_serve().err(),
        args.auth.verifier().err(),
    ]
    .into_iter()
    .flatten()
    .flat_map(|e| e.problems)
    .collect();
    crate::output::json(&serde_json::json!({
        "server": args.server,
        "auth": args.auth,
        "problems": problems,
    }))?;
    Ok(())
}
