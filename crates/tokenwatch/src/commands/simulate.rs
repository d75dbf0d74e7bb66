//! `tokenwatch simulate`: writes realistic labelled activity in the real export formats.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

use crate::output;

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// Output directory.
    #[arg(long)]
    pub(crate) out: PathBuf,

    /// Random seed; the same seed writes the same data.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Tenants.
    #[arg(long, default_value_t = 3)]
    pub(crate) tenants: usize,

    /// Users per tenant.
    #[arg(long, default_value_t = 40)]
    pub(crate) users: usize,

    /// Days of activity.
    #[arg(long, default_value_t = 14)]
    pub(crate) days: usize,
}

/// Writes the simulation's files, `labels.jsonl` and `meta.json` into the output directory.
pub(crate) fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let simulation = tokenwatch_simulate::simulate(tokenwatch_simulate::Config {
        seed: args.seed,
        tenants: args.tenants,
        users: args.users,
        days: args.days,
    });
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    for (name, content) in &simulation.files {
        std::fs::write(args.out.join(name), content)?;
    }
    let labels: String = simulation
        .labels
        .iter()
        .map(|l| serde_json::to_string(l).map(|line| line + "\n"))
        .collect::<Result<_, _>>()?;
    std::fs::write(args.out.join("labels.jsonl"), labels)?;
    std::fs::write(
        args.out.join("meta.json"),
        serde_json::to_vec_pretty(&simulation.meta)?,
    )?;
    let attacks = simulation
        .labels
        .iter()
        .filter(|l| l.label == "attack")
        .count();
    output::line(&format!(
        "wrote {} records for {} users over {} days, {} labelled sessions ({attacks} attacks) to {}",
        simulation.meta.records,
        simulation.meta.users,
        simulation.meta.days,
        simulation.labels.len(),
        args.out.display()
    ))?;
    Ok(())
}
