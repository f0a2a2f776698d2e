//! `rookery`: the command-line client. Every command is a thin adapter over `rookery-app` — the
//! same operations, with the same rules and errors, as the UI's — offline over the store, or
//! online (`online.rs`); errors are one line on stderr and a non-zero exit, never a panic.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

/// `println!` that returns write errors instead of panicking (a closed pipe ends the command
/// quietly, see `main`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?;
    }};
}
use clap::{Parser, Subcommand};
use rookery_app::args::*;
use rookery_app::hex;
use rookery_app::view::{ContentView, MessageView, NotificationKind, Page};
use rookery_app::{App, AppError};
use rookery_node::identity::{self, KEY_FILE};
use rookery_node::{Node, NodeError};
use serde::Serialize;

mod http;
mod online;

#[derive(Parser)]
#[command(
    name = "rookery",
    version,
    about = "Rookery: a peer-to-peer social feed",
    disable_help_subcommand = true
)]
struct Cli {
    /// Where the identity and the database live (default: the platform data directory).
    #[arg(long, global = true, env = "ROOKERY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of text (read commands).
    #[arg(long, global = true)]
    json: bool,
    /// Networking without relays or iroh's discovery (LAN and direct addresses only); the
    /// `relays` setting makes this the default.
    #[arg(long, global = true)]
    offline: bool,
    /// The UDP address to listen on (default: all interfaces, the same port every time).
    #[arg(long, global = true)]
    bind: Option<std::net::SocketAddr>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the identity and the database (done by any command on first use).
    Init,
    /// Print this identity's key (also its feed id).
    Id,
    /// Publish a post; `@name` or `@key` mentions someone.
    Post {
        /// The text (markdown).
        text: String,
    },
    /// Reply to a message.
    Reply {
        /// The message replied to.
        id: String,
        /// The text.
        text: String,
    },
    /// Set or show a profile.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Follow someone by ticket (which also says how to reach them) or by key.
    Follow {
        /// Their ticket or key.
        ticket_or_key: String,
    },
    /// Stop following someone.
    Unfollow {
        /// Their key.
        key: String,
    },
    /// Block someone: their messages leave every view.
    Block {
        /// Their key.
        key: String,
    },
    /// Unblock someone: your block in force against them is deleted.
    Unblock {
        /// Their key.
        key: String,
    },
    /// Mute someone, here only (nothing is published): their posts leave your home
    /// timeline and their mentions your notifications.
    Mute {
        /// Their key.
        key: String,
    },
    /// Unmute someone.
    Unmute {
        /// Their key.
        key: String,
    },
    /// Mute the thread a message is in, here only: its mentions and replies are not notified.
    MuteThread {
        /// Any message of the thread.
        id: String,
    },
    /// Unmute the thread a message is in.
    UnmuteThread {
        /// Any message of the thread.
        id: String,
    },
    /// What you muted: people and threads.
    Muted,
    /// Bookmark a message, here only (nothing is published).
    Bookmark {
        /// The message's id.
        id: String,
    },
    /// Remove a bookmark.
    Unbookmark {
        /// The message's id.
        id: String,
    },
    /// The messages you bookmarked, the latest bookmarked first.
    Bookmarks {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Delete one of your messages.
    Delete {
        /// The id of the message to delete (one of yours).
        id: String,
    },
    /// The home timeline, or one author's posts.
    Feed {
        /// Only this author.
        #[arg(long)]
        author: Option<String>,
        /// Posts per page.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Continue after this cursor (printed at the end of a page).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// A thread: its first post and every reply held.
    Thread {
        /// Any message id of the thread's root.
        id: String,
    },
    /// New mentions and replies since last read.
    Notifications,
    /// Mark everything (or one author) as read.
    Read {
        /// Only this author.
        key: Option<String>,
    },
    /// Write the secret key for a backup.
    ExportKey {
        /// Write it to this new file (mode 0600) instead of printing it.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Print it as 24 words.
        #[arg(long)]
        words: bool,
    },
    /// Restore the identity from a backup (only into a data directory without one). Into a new
    /// data directory, nothing is published until sync has brought the feed back from peers.
    #[command(alias = "restore")]
    ImportKey {
        /// A key file written by `export-key --file`.
        #[arg(long, conflicts_with = "words")]
        file: Option<PathBuf>,
        /// The 24 words printed by `export-key --words`.
        #[arg(long)]
        words: Option<String>,
    },
    /// Move a feed between nodes as a file.
    #[command(subcommand)]
    Bundle(BundleCmd),
    /// Check the database and repair what can be repaired (after a disk failure, say): damaged
    /// rows are dropped, and sync fetches them again from peers — my own feed too.
    Repair {
        /// Stop waiting for my own feed to be restored from peers, and post on from what is
        /// here (anyone who holds more of it sees two histories of my key).
        #[arg(long)]
        start_over: bool,
    },
    /// Print my ticket: what others paste to follow me.
    Ticket,
    /// Run the node headless, an always-on peer, until interrupted.
    Serve {
        /// Keep a session with this peer too (a pub), by ticket; repeatable.
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// Also serve the web UI and its API on this loopback address (e.g. 127.0.0.1:7777);
        /// prints the URL to open, with its token.
        #[arg(long)]
        http: Option<std::net::SocketAddr>,
        /// The built web UI to serve (`make ui` builds it into ui/dist).
        #[arg(long, env = "ROOKERY_UI_DIR", default_value = default_ui_dir())]
        ui: PathBuf,
    },
    /// Start a demo network (five local peers with history, who mention you) and follow it,
    /// then serve like `serve --http`.
    Demo {
        /// Serve the web UI and its API on this loopback address.
        #[arg(long, default_value = "127.0.0.1:0")]
        http: std::net::SocketAddr,
        /// The built web UI to serve.
        #[arg(long, env = "ROOKERY_UI_DIR", default_value = default_ui_dir())]
        ui: PathBuf,
    },
    /// Go online, catch up with the authors followed, and exit.
    Sync {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Also connect to this peer, by ticket; repeatable.
        #[arg(long = "peer")]
        peers: Vec<String>,
    },
    /// Sync sessions of the running `rookery serve`, and the peers whose address is known.
    Peers,
    /// Turn relays and iroh's discovery on or off for this identity (off: LAN and direct
    /// addresses only).
    Relays {
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

#[derive(Subcommand)]
enum ProfileCmd {
    /// Publish a new profile.
    Set {
        /// Display name.
        #[arg(long)]
        name: String,
        /// A few lines about you.
        #[arg(long, default_value = "")]
        bio: String,
    },
    /// Show a profile (yours by default).
    Show {
        /// The key whose profile to show (yours by default).
        key: Option<String>,
    },
    /// Who follows someone (you by default), among the feeds held here.
    Followers {
        /// The key whose followers to list (yours by default).
        key: Option<String>,
    },
}

#[derive(Subcommand)]
enum BundleCmd {
    /// Write an author's head, tree nodes and messages to a file.
    Export {
        /// The file to write.
        file: PathBuf,
        /// Whose feed (yours by default).
        #[arg(long)]
        author: Option<String>,
    },
    /// Take in a bundle file, verifying everything in it.
    Import {
        /// The bundle file to read.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                let _ = e.print();
                return ExitCode::from(2);
            }
            // clap's own message, on one line, with the hint to use --help.
            let text = e.kind().to_string();
            let detail = e.to_string();
            let first = detail
                .lines()
                .next()
                .unwrap_or(&text)
                .trim_start_matches("error: ");
            eprintln!("error: {first} (see --help)");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// Text from other people, made safe for a terminal: control characters (escape sequences
/// could clear the screen or rewrite the clipboard) become U+FFFD; newlines and tabs stay.
fn safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// The error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

fn data_dir(cli: &Cli) -> anyhow::Result<PathBuf> {
    match &cli.data_dir {
        Some(d) => Ok(d.clone()),
        None => Ok(dirs::data_dir()
            .context("no platform data directory; pass --data-dir")?
            .join("rookery")),
    }
}

/// Where `make ui` puts the built UI, in this checkout.
fn default_ui_dir() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/dist")
}

/// Runs one of the app's operations to its end (offline, so no task outlives it).
fn run_op<T>(f: impl Future<Output = Result<T, AppError>>) -> anyhow::Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok(rt.block_on(f)?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let dir = data_dir(&cli)?;
    if let Command::ImportKey { file, words } = &cli.command {
        return import_key(&dir, file.as_deref(), words.as_deref());
    }
    if let Command::Repair { start_over } = cli.command {
        return repair(&dir, start_over, cli.json);
    }
    if matches!(cli.command, Command::Peers)
        && let Some(status) = online::running(&dir)
    {
        return online::print_peers(&status, cli.json);
    }
    if matches!(cli.command, Command::Ticket)
        && let Some(status) = online::running(&dir)
    {
        say!("{}", status.ticket);
        return Ok(());
    }
    let node = Node::open(&dir).map_err(|e| opening(&dir, e))?;
    let json = cli.json;
    let net = online::Net {
        offline: cli.offline,
        bind: cli.bind,
    };
    match cli.command {
        Command::Ticket => return online::ticket(node, &net),
        Command::Serve { peers, http, ui } => {
            let what = online::Serve {
                peers,
                http,
                ui,
                demo: false,
            };
            return online::serve(node, &net, &dir, what);
        }
        Command::Demo { http, ui } => {
            let what = online::Serve {
                peers: vec![],
                http: Some(http),
                ui,
                demo: true,
            };
            return online::serve(node, &net, &dir, what);
        }
        Command::Sync { seconds, peers } => return online::sync(node, &net, &peers, seconds),
        _ => {}
    }
    let app = App::offline(node);
    offline(&app, cli.command, &dir, json)
}

/// The commands that run over the store alone.
fn offline(app: &App, command: Command, dir: &Path, json: bool) -> anyhow::Result<()> {
    let me = hex::format_key(&app.node().id());
    match command {
        Command::Init => say!("{me}\n(data in {})", dir.display()),
        Command::Id if json => print_json(&serde_json::json!({ "key": me }))?,
        Command::Id => say!("{me}"),
        Command::Post { text } => published(&run_op(app.post(PostArgs { text }))?)?,
        Command::Reply { id, text } => {
            published(&run_op(app.reply(ReplyArgs { parent: id, text }))?)?
        }
        Command::Profile(ProfileCmd::Set { name, bio }) => {
            let bio = Some(bio);
            let p = run_op(app.set_profile(SetProfileArgs { name, bio }))?;
            say!("{}", safe(p.name.as_deref().unwrap_or("")));
        }
        Command::Profile(ProfileCmd::Followers { key }) => {
            let key = key.unwrap_or(me);
            let people = run_op(app.followers(FollowersArgs { key }))?;
            if json {
                return print_json(&people);
            }
            if people.is_empty() {
                say!("No followers among the feeds held here.");
            }
            for p in people {
                say!(
                    "{}  {}",
                    p.key,
                    safe(p.name.as_deref().unwrap_or("(no name)"))
                );
            }
        }
        Command::Profile(ProfileCmd::Show { key }) => {
            let key = key.unwrap_or(me);
            let p = run_op(app.profile(ProfileArgs { key }))?;
            if json {
                return print_json(&p);
            }
            say!("{}", safe(p.name.as_deref().unwrap_or("(no name)")));
            say!("key        {}", p.key);
            if let Some(bio) = p.bio.filter(|b| !b.is_empty()) {
                say!("bio        {}", safe(&bio));
            }
            say!(
                "messages   {}",
                p.seq.map_or("none held".to_string(), |s| s.to_string())
            );
            say!("follows    {}", p.follows.len());
            say!("followers  {} (among feeds held here)", p.followers);
        }
        Command::Follow { ticket_or_key } => {
            let p = run_op(app.follow(FollowArgs {
                address: ticket_or_key,
            }))?;
            say!("following {}", p.key);
        }
        Command::Unfollow { key } => {
            let p = run_op(app.unfollow(UnfollowArgs { key }))?;
            say!("no longer following {}", p.key);
        }
        Command::Block { key } => {
            let p = run_op(app.block(BlockArgs { key }))?;
            say!("blocked {}", p.key);
        }
        Command::Mute { key } => {
            let p = run_op(app.mute(MuteArgs { key }))?;
            say!("muted {}", p.key);
        }
        Command::Unmute { key } => {
            let p = run_op(app.unmute(UnmuteArgs { key }))?;
            say!("unmuted {}", p.key);
        }
        Command::MuteThread { id } => {
            run_op(app.mute_thread(MuteThreadArgs { id }))?;
            say!("thread muted");
        }
        Command::UnmuteThread { id } => {
            run_op(app.unmute_thread(UnmuteThreadArgs { id }))?;
            say!("thread unmuted");
        }
        Command::Bookmark { id } => {
            run_op(app.bookmark(BookmarkArgs { id }))?;
            say!("bookmarked");
        }
        Command::Unbookmark { id } => {
            run_op(app.unbookmark(UnbookmarkArgs { id }))?;
            say!("bookmark removed");
        }
        Command::Bookmarks { limit } => {
            let items = run_op(app.bookmarks(BookmarksArgs { limit: Some(limit) }))?;
            if json {
                return print_json(&items);
            }
            if items.is_empty() {
                say!("No bookmarks.");
            }
            for m in &items {
                print_message(m, "")?;
            }
        }
        Command::Muted => {
            let m = run_op(app.muted(MutedArgs {}))?;
            if json {
                return print_json(&m);
            }
            if m.people.is_empty() && m.threads.is_empty() {
                say!("Nothing muted.");
            }
            for p in &m.people {
                say!(
                    "person  {}  {}",
                    p.key,
                    safe(p.name.as_deref().unwrap_or("(no name)"))
                );
            }
            for t in &m.threads {
                say!("thread  {}", t.root);
            }
        }
        Command::Unblock { key } => {
            let p = run_op(app.unblock(UnblockArgs { key }))?;
            say!("unblocked {}", p.key);
        }
        Command::Delete { id } => run_op(app.delete_message(DeleteMessageArgs { id }))?,
        Command::Feed {
            author,
            limit,
            cursor,
        } => {
            let limit = Some(limit);
            let page = match author {
                Some(key) => run_op(app.author_feed(AuthorFeedArgs { key, cursor, limit }))?,
                None => run_op(app.timeline(TimelineArgs { cursor, limit }))?,
            };
            if json {
                return print_json(&page);
            }
            print_page(&page)?;
        }
        Command::Thread { id } => {
            let t = run_op(app.thread(ThreadArgs { id }))?;
            if json {
                return print_json(&t);
            }
            match &t.root {
                Some(r) => print_message(r, "")?,
                None => say!("(the first post of this thread is not here)"),
            }
            for r in &t.replies {
                print_message(r, "  ↳ ")?;
            }
        }
        Command::Notifications => {
            let limit = Some(200);
            let n = run_op(app.notifications(NotificationsArgs { limit }))?;
            let unread: Vec<_> = n.items.iter().filter(|i| !i.read).collect();
            if json {
                return print_json(&unread);
            }
            if unread.is_empty() {
                say!("No new mentions or replies.");
            }
            for u in run_op(app.unread_counts(UnreadCountsArgs {}))?
                .iter()
                .filter(|u| u.count > 0)
            {
                let who = safe(u.name.as_deref().unwrap_or(&u.author[..12]));
                say!("{who}: {} new in their feed", u.count);
            }
            for item in unread {
                let kind = match item.kind {
                    NotificationKind::Reply => "reply",
                    NotificationKind::Mention => "mention",
                    NotificationKind::Follow => "follow",
                };
                print_message(&item.message, &format!("[{kind}] "))?;
            }
        }
        Command::Read { key } => run_op(app.mark_seen(MarkSeenArgs { key }))?,
        Command::ExportKey { file, words } => export_key(app, file.as_deref(), words)?,
        Command::Bundle(BundleCmd::Export { file, author }) => {
            let (bytes, bodies, nodes) = app.export_bundle(author.as_deref())?;
            std::fs::write(&file, bytes).with_context(|| format!("writing {}", file.display()))?;
            say!(
                "wrote {bodies} messages and {nodes} tree nodes to {}",
                file.display()
            );
        }
        Command::Bundle(BundleCmd::Import { file }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let r = app.import_bundle(&bytes)?;
            say!(
                "imported {} messages and {} tree nodes ({:?})",
                r.bodies,
                r.nodes,
                r.update
            );
        }
        Command::Peers => online::print_known(app.node(), json)?,
        Command::Relays { state } => {
            let relays = Some(state == "on");
            run_op(app.set_settings(SetSettingsArgs {
                relays,
                notifications: None,
                notify_mentions: None,
                notify_replies: None,
                notify_follows: None,
            }))?;
            say!("relays and discovery: {state}");
        }
        Command::ImportKey { .. }
        | Command::Repair { .. }
        | Command::Ticket
        | Command::Serve { .. }
        | Command::Demo { .. }
        | Command::Sync { .. } => unreachable!("handled before the node goes offline"),
    }
    Ok(())
}

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    say!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn published(m: &MessageView) -> anyhow::Result<()> {
    say!("{}", m.id);
    Ok(())
}

fn when(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn print_message(m: &MessageView, prefix: &str) -> anyhow::Result<()> {
    let who = safe(m.author_name.as_deref().unwrap_or(&m.author[..12]));
    let text = match &m.content {
        ContentView::Post { text, .. } => safe(text),
        other => safe(&format!("{other:?}")),
    };
    say!("{prefix}{who} · {} · {}", when(m.timestamp_ms), m.id);
    for line in text.lines() {
        say!("{prefix}  {line}");
    }
    Ok(())
}

fn print_page(page: &Page) -> anyhow::Result<()> {
    if page.items.is_empty() {
        say!(
            "Nothing here yet. Follow someone with `rookery follow KEY`, or post with `rookery post TEXT`."
        );
    }
    for m in &page.items {
        print_message(m, "")?;
        say!();
    }
    if let Some(c) = &page.next_cursor {
        say!("more: --cursor {c}");
    }
    Ok(())
}

fn export_key(app: &App, file: Option<&Path>, words: bool) -> anyhow::Result<()> {
    let backup = run_op(app.export_key(ExportKeyArgs {}))?;
    if words {
        say!("{}", backup.words);
    } else if let Some(file) = file {
        identity::write_key_file(file, app.node().secret_key())?;
        say!("wrote the secret key to {} (keep it safe)", file.display());
    } else {
        say!("{}", backup.secret);
    }
    Ok(())
}

/// A failure to open the node, with what to do if a server holds it.
fn opening(dir: &Path, e: NodeError) -> anyhow::Error {
    let context = match &e {
        NodeError::Store(s) if s.is_in_use() => format!(
            "a `rookery serve` is running on {}; stop it first or use another --data-dir",
            dir.display()
        ),
        _ => format!("opening {}", dir.display()),
    };
    anyhow::Error::new(e).context(context)
}

fn repair(dir: &Path, start_over: bool, json: bool) -> anyhow::Result<()> {
    let r = Node::repair(dir).map_err(|e| opening(dir, e))?;
    if start_over {
        let followed = Node::open(dir)?.start_over()?;
        say!(
            "starting over: your feed begins again, with your profile and the {followed} people you follow that could be read; anyone who holds your old feed will see two histories"
        );
        return Ok(());
    }
    if json {
        let mut v = serde_json::to_value(&r.store)?;
        v["own_feed_whole"] = r.own_feed_whole.into();
        return print_json(&v);
    }
    let s = &r.store;
    say!("checked {} rows in {}", s.rows_checked, dir.display());
    if s.rebuilt {
        say!(
            "the database could not be repaired in place: it is a new one, of the {} rows that could be read and verified",
            s.rows_salvaged
        );
    }
    if s.redb_repaired {
        say!("the database's own structures were damaged, and are rebuilt");
    }
    if s.nodes_dropped + s.bodies_dropped + s.heads_dropped > 0 {
        say!(
            "dropped what no longer verified: {} tree nodes, {} messages, {} heads",
            s.nodes_dropped,
            s.bodies_dropped,
            s.heads_dropped
        );
    }
    if s.indexes_rebuilt > 0 {
        say!(
            "{} index(es) by id no longer matched what they index, and are derived again from it",
            s.indexes_rebuilt
        );
    }
    if !s.tables_unreadable.is_empty() {
        say!(
            "could not be read through, and what could not be read is gone: {}",
            s.tables_unreadable.join(", ")
        );
    }
    if let Some(kept) = &s.original_kept {
        say!("the file as it was before is kept at {}", kept.display());
    }
    if s.found_damage() {
        say!("what was dropped of other people's feeds is fetched again at the next sync");
    } else {
        say!("nothing was damaged");
    }
    if !r.own_feed_whole {
        say!(
            "your own feed is not whole here, so posting waits until it is restored: `rookery sync --peer TICKET` with the ticket of someone who follows you (or a pub) fetches it back; `rookery repair --start-over` gives up on the rest"
        );
    }
    Ok(())
}

fn import_key(dir: &Path, file: Option<&Path>, words: Option<&str>) -> anyhow::Result<()> {
    let key = match (file, words) {
        (Some(f), None) => identity::read_key_file(f)?,
        (None, Some(w)) => identity::key_from_words(w)?,
        _ => bail!("give --file or --words"),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(KEY_FILE);
    if path.exists() {
        bail!(
            "{} already holds an identity; import into a new --data-dir",
            dir.display()
        );
    }
    if dir.join(rookery_node::DB_FILE).exists() {
        // The key put back beside its own database (the way out `keys_are_never_lost`
        // names): the feed is here.
        identity::write_key_file(&path, &key)?;
    } else {
        // A restore on a new machine: the feed is at peers, and posting before it is back
        // would fork it.
        Node::restore(dir, &key)?;
        eprintln!(
            "restored: nothing is posted until `rookery sync --peer TICKET` (a follower's or a pub's ticket) has brought your feed back; if no peer has it, `rookery repair --start-over` begins a new one"
        );
    }
    say!("{}", hex::format_key(&key.public()));
    Ok(())
}
