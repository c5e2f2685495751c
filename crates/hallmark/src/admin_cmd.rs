//! `hallmark admin`: accounts, organisations, robots, tiers, visibility and the audit log,
//! worked on the data folder directly (like `gc` and `fsck`), beside a running server or not.
//! Every change is written to the audit log with the actor `cli`.

use std::io::BufRead as _;
use std::process::ExitCode;

use access::password::Passwords;
use access::principal::Grant;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use oci::OrganisationTier;
use registry::admin::{
    account_json, audit_json, checked_organisation, new_account, new_secret, set_tier,
};
use store::{Account, AccountKind, AuditAction, AuditFilter, MetaStore};

use crate::data_dir::{block_on, DataArgs};
use crate::output::{print_json, print_lines, Format};

/// The audit log's actor for changes made here.
const CLI_ACTOR: &str = "cli";

/// Manage accounts, organisations, robots, tiers and visibility; read the audit log.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// People's accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Organisations (publishers) and their members.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Machine accounts (build agents, CI) with explicit grants.
    #[command(subcommand)]
    Robot(RobotCommand),
    /// An organisation's trust tier.
    #[command(subcommand)]
    Tier(TierCommand),
    /// Make a repository private (pulled only by those who may write it or hold a pull grant).
    Private {
        /// The repository, e.g. acme/internal.
        repository: String,
    },
    /// Make a private repository public again.
    Public {
        /// The repository.
        repository: String,
    },
    /// The audit log, newest first.
    Audit {
        /// Only entries about this repository.
        #[arg(long)]
        repo: Option<String>,
        /// Only entries by this account (or `cli`, `anonymous`).
        #[arg(long)]
        actor: Option<String>,
        /// Only entries of this action: push, delete, tag-move or permission-change.
        #[arg(long)]
        action: Option<AuditAction>,
        /// At most this many entries.
        #[arg(long)]
        limit: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; prints a generated password unless --password-stdin gives one.
    Add {
        name: String,
        /// May do everything.
        #[arg(long)]
        admin: bool,
        /// The Official Images publisher role: may push library/.
        #[arg(long)]
        publisher: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password (a robot's secret); prints a generated one unless
    /// --password-stdin gives one.
    Password {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts (people and robots) with roles, grants and organisations.
    List,
    /// Remove an account with its grants, memberships and refresh tokens.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organisation, the namespace `<name>/` its members may push.
    Add { name: String },
    /// Organisation members.
    #[command(subcommand)]
    Member(MemberCommand),
}

#[derive(Debug, Subcommand)]
enum MemberCommand {
    /// Add a user to an organisation.
    Add { organisation: String, user: String },
}

#[derive(Debug, Subcommand)]
enum RobotCommand {
    /// Create a robot; prints its secret, once.
    Add {
        name: String,
        /// A grant such as 'arm64v8/*:push' or 'acme/app:pull,push,delete'; repeatable.
        #[arg(long = "grant", required = true)]
        grants: Vec<Grant>,
    },
}

#[derive(Debug, Subcommand)]
enum TierCommand {
    /// Set an organisation's tier: verified-publisher or sponsored-oss.
    Set {
        organisation: String,
        tier: OrganisationTier,
    },
}

pub fn run(args: AdminArgs, format: Format) -> anyhow::Result<ExitCode> {
    block_on(async {
        let (_, meta) = args.data.open().await?;
        match args.command {
            AdminCommand::User(command) => user(&meta, command, format).await,
            AdminCommand::Org(OrgCommand::Add { name }) => {
                checked_organisation(&name)?;
                let created = meta.create_organisation(&name, CLI_ACTOR).await?;
                anyhow::ensure!(created, "organisation {name} exists already");
                Ok(())
            }
            AdminCommand::Org(OrgCommand::Member(MemberCommand::Add { organisation, user })) => {
                meta.add_member(&organisation, &user, CLI_ACTOR).await?;
                Ok(())
            }
            AdminCommand::Robot(RobotCommand::Add { name, grants }) => {
                let secret = new_secret()?;
                let mut robot =
                    new_account(&name, AccountKind::Robot, &secret, &Passwords::default())?;
                robot.grants = grants.iter().map(ToString::to_string).collect();
                create(&meta, &robot).await?;
                print_lines([format!("robot {name} secret (shown only now): {secret}")])
            }
            AdminCommand::Tier(TierCommand::Set { organisation, tier }) => {
                Ok(set_tier(&meta, &organisation, tier, CLI_ACTOR).await?)
            }
            AdminCommand::Private { repository } => {
                Ok(meta.set_private(&repository, true, CLI_ACTOR).await?)
            }
            AdminCommand::Public { repository } => {
                Ok(meta.set_private(&repository, false, CLI_ACTOR).await?)
            }
            AdminCommand::Audit {
                repo,
                actor,
                action,
                limit,
            } => {
                let filter = AuditFilter {
                    repository: repo,
                    actor,
                    action,
                    limit,
                };
                audit(&meta, &filter, format).await
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn user(meta: &impl MetaStore, command: UserCommand, format: Format) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            admin,
            publisher,
            password_stdin,
        } => {
            let password = read_or_generate_password(password_stdin)?;
            let mut account =
                new_account(&name, AccountKind::User, &password, &Passwords::default())?;
            account.admin = admin;
            account.publisher = publisher;
            create(meta, &account).await?;
            if !password_stdin {
                print_lines([format!("user {name} password (shown only now): {password}")])?;
            }
            Ok(())
        }
        UserCommand::Password {
            name,
            password_stdin,
        } => {
            let password = read_or_generate_password(password_stdin)?;
            let hash = Passwords::default()
                .hash(&password)
                .context("hashing the password")?;
            let changed = meta
                .set_password_hash(&name, &hash, Some(CLI_ACTOR))
                .await?;
            anyhow::ensure!(changed, "there is no account {name}");
            if !password_stdin {
                print_lines([format!("{name} password (shown only now): {password}")])?;
            }
            Ok(())
        }
        UserCommand::List => {
            let accounts = meta.accounts().await?;
            match format {
                Format::Json => print_json(&accounts.iter().map(account_json).collect::<Vec<_>>()),
                Format::Text => print_lines(accounts.iter().map(Account::describe)),
            }
        }
        UserCommand::Remove { name } => {
            let removed = meta.delete_account(&name, CLI_ACTOR).await?;
            anyhow::ensure!(removed, "there is no account {name}");
            Ok(())
        }
    }
}

async fn audit(meta: &impl MetaStore, filter: &AuditFilter, format: Format) -> anyhow::Result<()> {
    let entries = meta.audit_log(filter).await?;
    match format {
        Format::Json => print_json(&entries.iter().map(audit_json).collect::<Vec<_>>()),
        Format::Text => print_lines(entries.iter().map(|e| {
            let e_ = &e.entry;
            let mut line = format!("{} {} {}", e.at_ms, e_.actor, e_.action);
            for part in [&e_.repository, &e_.reference, &e_.digest]
                .into_iter()
                .flatten()
            {
                line += &format!(" {part}");
            }
            if !e_.detail.is_empty() {
                line += &format!(" ({})", e_.detail);
            }
            line
        })),
    }
}

/// The first line of standard input, or a generated secret.
fn read_or_generate_password(from_stdin: bool) -> anyhow::Result<String> {
    if !from_stdin {
        return Ok(new_secret()?);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    Ok(password)
}

async fn create(meta: &impl MetaStore, account: &Account) -> anyhow::Result<()> {
    let created = meta.create_account(account, CLI_ACTOR).await?;
    anyhow::ensure!(created, "an account named {} exists already", account.name);
    Ok(())
}
