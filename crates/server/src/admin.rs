//! `kolokol admin …`: organisation administration from a terminal.
//!
//! Every command goes through a running server's API as a signed-in user, so it is authorised,
//! checked and published exactly as the same action in the web client (live clients see the
//! chats appear). The password comes from `KOLOKOL_PASSWORD` or is asked for; the session is
//! closed again when the command ends.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use kolokol_client::proto::{
    ClaimCodeList, IssueClaimCodesRequest, LoginRequest, OrgId, RosterReport, UnitView,
};
use kolokol_client::{Client, ClientError};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server, as the web client is opened.
    #[arg(long, env = "KOLOKOL_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Your username on that server.
    #[arg(long, short, env = "KOLOKOL_USERNAME")]
    username: String,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an organisation (instance admins only); you become its admin.
    CreateOrg {
        /// The name members see, e.g. "Школа №1234".
        #[arg(long)]
        name: String,
        /// IANA time zone for quiet hours. [default: Europe/Moscow]
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// List your organisations and their ids.
    Orgs,
    /// Import a roster CSV; chats follow it. Prints what changed, or every error by line.
    ImportRoster {
        #[arg(long)]
        org: OrgId,
        /// The roster file (UTF-8 CSV: role,class,name,child,subjects).
        file: PathBuf,
        /// Only check the file and show what would change.
        #[arg(long)]
        dry_run: bool,
    },
    /// Issue claim codes to everyone who has not claimed yet (or one class), and write a page
    /// to print and hand out. Codes are shown only this once; issuing again replaces them.
    ClaimCodes {
        #[arg(long)]
        org: OrgId,
        /// Only this class, by name (e.g. 5Б).
        #[arg(long)]
        class: Option<String>,
        /// Only this person, by their name in the roster (repeat for several): a lost card is
        /// replaced without changing anyone else's code.
        #[arg(long = "person")]
        people: Vec<String>,
        /// Also people who have claimed already (their new code moves them to another account).
        #[arg(long)]
        include_claimed: bool,
        /// The printable HTML page to write.
        #[arg(long, default_value = "claim-codes.html")]
        out: PathBuf,
    },
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let password = match std::env::var("KOLOKOL_PASSWORD") {
        Ok(password) => password,
        Err(_) => ask_password(&args.username)?,
    };
    let mut client = Client::new(args.server.clone());
    client
        .login(&LoginRequest {
            username: args.username.clone(),
            password,
            device_name: Some("kolokol admin".into()),
        })
        .await
        .map_err(explain)?;
    let result = command(&client, &args).await;
    let _ = client.logout().await;
    result
}

async fn command(client: &Client, args: &AdminArgs) -> anyhow::Result<()> {
    match &args.command {
        AdminCommand::CreateOrg { name, time_zone } => {
            let org = client
                .create_org(name, time_zone.as_deref())
                .await
                .map_err(explain)?;
            println!(
                "created org {} \"{}\" ({})",
                org.id, org.name, org.time_zone
            );
        }
        AdminCommand::Orgs => {
            for org in client.orgs().await.map_err(explain)? {
                println!("{}\t{}\t{}", org.id, org.name, org.roles.join(","));
            }
        }
        AdminCommand::ImportRoster { org, file, dry_run } => {
            let csv = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let report = client
                .import_roster(*org, csv, *dry_run)
                .await
                .map_err(explain)?;
            print!("{}", describe(&report));
        }
        AdminCommand::ClaimCodes {
            org,
            class,
            people,
            include_claimed,
            out,
        } => {
            let roster = client.roster(*org).await.map_err(explain)?;
            let units: Vec<&UnitView> = roster
                .units
                .iter()
                .filter(|unit| class.as_ref().is_none_or(|name| &unit.name == name))
                .collect();
            if let Some(name) = class
                && units.is_empty()
            {
                bail!("no class {name} in this org");
            }
            let person_ids = match people.is_empty() {
                true => None,
                false => Some(
                    people
                        .iter()
                        .map(|name| person_named(&units, name))
                        .collect::<anyhow::Result<Vec<_>>>()?,
                ),
            };
            let request = IssueClaimCodesRequest {
                person_ids,
                unit_id: class.as_ref().map(|_| units[0].id),
                include_claimed: *include_claimed,
            };
            let codes = client
                .issue_claim_codes(*org, &request)
                .await
                .map_err(explain)?;
            let org_name = client
                .orgs()
                .await
                .map_err(explain)?
                .into_iter()
                .find(|candidate| candidate.id == *org)
                .map(|org| org.name)
                .unwrap_or_default();
            std::fs::write(out, printable_page(&org_name, &args.server, &codes))
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "{} codes written to {} (valid until {}); print it and hand each family its card",
                codes.codes.len(),
                out.display(),
                date_of(codes.expires_at)
            );
        }
    }
    Ok(())
}

/// The one person of these classes with this name (as the roster has it, any case).
fn person_named(units: &[&UnitView], name: &str) -> anyhow::Result<i64> {
    let wanted = name.trim().to_lowercase();
    let mut ids: Vec<i64> = units
        .iter()
        .flat_map(|unit| &unit.people)
        .filter(|person| person.name.to_lowercase() == wanted)
        .map(|person| person.person_id)
        .collect();
    // A guardian of children in two classes is one person in both.
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [id] => Ok(*id),
        [] => bail!("nobody called {name} in the roster"),
        _ => bail!("more than one {name} in the roster: add --class"),
    }
}

/// An API refusal as the admin should read it, with every line of a refused roster.
fn explain(error: ClientError) -> anyhow::Error {
    match error {
        ClientError::Api { body, .. } => {
            let mut text = body.message;
            for line in body.errors {
                text.push_str(&format!("\n  line {}: {}", line.line, line.message));
            }
            anyhow::anyhow!(text)
        }
        other => anyhow::anyhow!(other),
    }
}

fn describe(report: &RosterReport) -> String {
    let mut text = String::new();
    if report.dry_run {
        text.push_str("dry run: nothing was changed\n");
    }
    for (label, names) in [
        ("classes added", &report.units_added),
        ("classes archived", &report.units_archived),
        ("people added", &report.people_added),
        ("people archived", &report.people_archived),
        ("people moved or changed", &report.people_changed),
    ] {
        if !names.is_empty() {
            text.push_str(&format!(
                "{label} ({}): {}\n",
                names.len(),
                names.join(", ")
            ));
        }
    }
    if !report.dry_run {
        text.push_str(&format!(
            "chats created: {}; accounts added to chats: {}, removed: {}\n",
            report.chats_created, report.members_added, report.members_removed
        ));
    }
    text
}

fn ask_password(username: &str) -> anyhow::Result<String> {
    eprint!("password for {username}: ");
    std::io::stderr().flush()?;
    let stdin = std::io::stdin();
    let _quiet = stdin.is_terminal().then(EchoOff::new).flatten();
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    eprintln!();
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Turns off the terminal's echo while a password is typed, and back on when dropped.
struct EchoOff(libc::termios);

impl EchoOff {
    fn new() -> Option<EchoOff> {
        // SAFETY: termios is plain data; tcgetattr fills it for the terminal on fd 0.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return None;
            }
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &quiet);
            Some(EchoOff(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new` on the same descriptor.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.0);
        }
    }
}

fn date_of(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .map(|at| at.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Escapes text for HTML: names come from a file anyone could have edited.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn role_ru(role: &str) -> &'static str {
    match role {
        "student" => "ученик(ца)",
        "guardian" => "родитель",
        "class_teacher" => "классный руководитель",
        "teacher" => "учитель",
        _ => "",
    }
}

/// One card per person, in Russian, cards never split across pages.
pub fn printable_page(org_name: &str, server: &str, codes: &ClaimCodeList) -> String {
    let mut cards = String::new();
    for entry in &codes.codes {
        let places: Vec<String> = entry
            .places
            .iter()
            .map(|place| {
                let mut line = format!("{} — {}", escape(&place.unit), role_ru(&place.role));
                if place.role == "guardian" {
                    line.push_str(&format!(": {}", escape(&place.detail)));
                }
                line
            })
            .collect();
        cards.push_str(&format!(
            "<section class=\"card\"><p class=\"org\">{org}</p><h2>{name}</h2><p>{places}</p>\
             <p class=\"code\">{code}</p><p class=\"how\">Откройте <b>{server}/claim</b>, войдите или \
             зарегистрируйтесь (телефон не нужен) и введите этот код. Код действует до {until} и \
             только один раз.</p></section>\n",
            org = escape(org_name),
            name = escape(&entry.name),
            places = places.join("<br>"),
            code = escape(&entry.code),
            server = escape(server),
            until = date_of(codes.expires_at),
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Коды доступа — {org}</title>\n\
         <style>body{{font-family:sans-serif;margin:1cm}}.card{{border:1px dashed #444;padding:0.5cm;\
         margin-bottom:0.5cm;break-inside:avoid}}.org{{color:#555;margin:0}}h2{{margin:0.2cm 0}}\
         .code{{font:bold 20pt monospace;letter-spacing:2px}}.how{{font-size:10pt}}</style></head>\n\
         <body>\n{cards}</body></html>\n",
        org = escape(org_name),
    )
}

#[cfg(test)]
mod tests {
    use kolokol_client::proto::{ClaimCodeEntry, PlaceView};

    use super::*;

    #[test]
    fn the_printable_page_escapes_names_and_shows_each_code() {
        let codes = ClaimCodeList {
            expires_at: 1_767_225_600_000,
            codes: vec![ClaimCodeEntry {
                person_id: 1,
                name: "<script>alert(1)</script> Иванова".into(),
                places: vec![PlaceView {
                    unit: "5Б".into(),
                    role: "guardian".into(),
                    detail: "Иванов & сын".into(),
                }],
                code: "ABCD-EFGH-JKLM".into(),
            }],
        };
        let page = printable_page("Школа \"№1\"", "http://school.example", &codes);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Иванова"));
        assert!(page.contains("5Б — родитель: Иванов &amp; сын"));
        assert!(page.contains("ABCD-EFGH-JKLM"));
        assert!(page.contains("до 2026-01-01"));
        assert!(page.contains("Школа &quot;№1&quot;"));
    }
}
