//! What every scenario measures the same way, for every peer: runs (time and bytes, with and
//! without the connection's handshake), figures (the median of several runs, with min and
//! max), round trips measured from the time at a real round-trip delay against the time with
//! none, latency through `rookery-netsim`'s delaying relay, and the external peers' JSON.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use iroh::EndpointAddr;
use rookery_netsim::DelayRelay;
use rookery_node::Ticket;
use serde::Serialize;

/// One measured run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    /// Elapsed, in ms.
    pub(crate) ms: f64,
    /// Bytes that crossed the connection, the handshake included.
    pub(crate) bytes: u64,
    /// Of those, the connection's handshake (0 when the connection was already open).
    pub(crate) handshake: u64,
}

impl Run {
    /// A run that started at `t`.
    pub(crate) fn since(t: Instant, bytes: u64, handshake: u64) -> Run {
        Run {
            ms: ms(t.elapsed()),
            bytes,
            handshake,
        }
    }
}

/// One peer's figures for one case: the median of its runs, with their spread.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Figure {
    /// Bytes after the connection's handshake (of the median run).
    pub(crate) bytes: u64,
    /// Bytes with it.
    pub(crate) bytes_with_handshake: u64,
    /// Round trips on the critical path, handshakes included: the time at the round-trip delay
    /// less the time with none, over the delay (`None` when there is no delay).
    pub(crate) round_trips: Option<u64>,
    /// Median ms of the runs (at the delay of the report).
    pub(crate) ms: f64,
    pub(crate) ms_min: f64,
    pub(crate) ms_max: f64,
    /// Median ms with no delay, measured in the same run (`None` when the report has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ms_at_0: Option<f64>,
    /// How many runs.
    pub(crate) runs: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) note: String,
}

impl Figure {
    /// The figure of `runs` (at least one): the median by time, with min and max; the bytes of
    /// the median run.
    pub(crate) fn of(runs: &[Run], note: impl Into<String>) -> Figure {
        let mut sorted = runs.to_vec();
        sorted.sort_by(|a, b| a.ms.total_cmp(&b.ms));
        let mid = sorted[sorted.len() / 2];
        Figure {
            bytes: mid.bytes - mid.handshake,
            bytes_with_handshake: mid.bytes,
            round_trips: None,
            ms: mid.ms,
            ms_min: sorted[0].ms,
            ms_max: sorted[sorted.len() - 1].ms,
            ms_at_0: None,
            runs: runs.len(),
            note: note.into(),
        }
    }

    /// This figure (at `rtt`) with the same case's figure at no delay: the round trips it
    /// measures.
    pub(crate) fn against(mut self, at_0: &Figure, rtt: Duration) -> Figure {
        self.ms_at_0 = Some(at_0.ms);
        if !rtt.is_zero() {
            let extra = (self.ms - at_0.ms).max(0.0);
            self.round_trips = Some((extra / ms(rtt)).round() as u64);
        }
        self
    }

    /// A figure from an external peer's JSON.
    pub(crate) fn from_json(v: &serde_json::Value) -> Option<Figure> {
        let ms = v.get("ms")?.as_f64()?;
        let bytes = v.get("bytes")?.as_u64()?;
        Some(Figure {
            bytes,
            bytes_with_handshake: v["bytes_with_handshake"].as_u64().unwrap_or(bytes),
            round_trips: None,
            ms,
            ms_min: v["ms_min"].as_f64().unwrap_or(ms),
            ms_max: v["ms_max"].as_f64().unwrap_or(ms),
            ms_at_0: None,
            runs: v["runs"].as_u64().unwrap_or(1) as usize,
            note: v["note"].as_str().unwrap_or("").to_string(),
        })
    }
}

/// The median of several timings, with min and max.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Spread {
    /// The spread of `xs` (at least one).
    pub(crate) fn of(xs: &[f64]) -> Spread {
        let mut s = xs.to_vec();
        s.sort_by(f64::total_cmp);
        Spread {
            median: s[s.len() / 2],
            min: s[0],
            max: s[s.len() - 1],
        }
    }

    /// Each of `runs` runs of `f`, timed in µs.
    pub(crate) fn time_us<T>(
        runs: usize,
        mut f: impl FnMut() -> anyhow::Result<T>,
    ) -> anyhow::Result<(Spread, T)> {
        let mut times = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            last = Some(f()?);
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        Ok((Spread::of(&times), last.expect("one run at least")))
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} [{:.1}–{:.1}]", self.median, self.min, self.max)
    }
}

/// Milliseconds.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Waits until `f` holds, checking every millisecond.
pub(crate) async fn until(what: &str, limit: Duration, f: impl Fn() -> bool) -> anyhow::Result<()> {
    let t = Instant::now();
    while !f() {
        if t.elapsed() > limit {
            anyhow::bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// A delaying relay in front of the endpoint in `ticket`, and the ticket that reaches it
/// through the relay.
pub(crate) async fn delayed(
    ticket: &Ticket,
    rtt: Duration,
) -> anyhow::Result<(DelayRelay, Ticket)> {
    let (relay, addr) = delayed_addr(&ticket.0, rtt).await?;
    Ok((relay, Ticket(addr)))
}

/// A delaying relay in front of `addr`'s direct address, and the address through it.
pub(crate) async fn delayed_addr(
    addr: &EndpointAddr,
    rtt: Duration,
) -> anyhow::Result<(DelayRelay, EndpointAddr)> {
    let direct: SocketAddr = addr
        .ip_addrs()
        .next()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("the endpoint has no direct address"))?;
    let relay = DelayRelay::start(direct, rtt).await?;
    let through = EndpointAddr::new(addr.id).with_ip_addr(relay.addr());
    Ok((relay, through))
}

/// The space the files under `dir` take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Disk {
    /// Bytes the disk holds for them: allocated blocks (`du`). A file grown with `set_len`
    /// (redb preallocates this way, doubling the file) holds no blocks where nothing was written.
    pub(crate) allocated: u64,
    /// The files' lengths (`ls -l`).
    pub(crate) files: u64,
}

impl Disk {
    /// Both figures divided by `n`.
    pub(crate) fn per(self, n: u64) -> Disk {
        Disk {
            allocated: self.allocated / n.max(1),
            files: self.files / n.max(1),
        }
    }
}

/// The space every file under `dir` takes.
pub(crate) fn disk_bytes(dir: &Path) -> Disk {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Disk::default();
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_bytes(&e.path()),
            Ok(m) => Disk {
                allocated: m.blocks() * 512,
                files: m.len(),
            },
            Err(_) => Disk::default(),
        })
        .fold(Disk::default(), |a, b| Disk {
            allocated: a.allocated + b.allocated,
            files: a.files + b.files,
        })
}

/// The repository's root.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs an external peer and reads the one JSON object it prints.
pub(crate) fn external(
    program: &str,
    args: &[String],
    cwd: &Path,
) -> Result<serde_json::Value, String> {
    let out = std::process::Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} failed ({})", out.status));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{program} printed no JSON: {e}"))
}

/// The SSB peer's directory, if its packages are installed.
pub(crate) fn ssb_dir() -> Result<PathBuf, String> {
    let dir = repo_root().join("bench/ssb");
    if dir.join("node_modules").exists() {
        Ok(dir)
    } else {
        Err("bench/ssb/node_modules is missing: `make bench` installs it".into())
    }
}

/// The iroh-docs peer's binary, if built.
pub(crate) fn iroh_docs_bin() -> Result<PathBuf, String> {
    let bin = repo_root().join("bench/iroh-docs/target/release/iroh-docs-peer");
    if bin.exists() {
        Ok(bin)
    } else {
        Err("bench/iroh-docs is not built: `make bench` builds it".into())
    }
}

/// A table of one case: each peer's figure, and its ratio to Rookery's (above 1: Rookery is
/// ahead).
pub(crate) fn print_case(case: &str, row: &BTreeMap<String, Option<Figure>>) {
    let Some(Some(r)) = row.get("rookery") else {
        return;
    };
    println!("\n{case}");
    println!(
        "  {:<10} {:>10} {:>10} {:>5} {:>21} {:>9}   {:>7} {:>7}",
        "peer",
        "bytes",
        "+handshake",
        "rtts",
        "ms median [min–max]",
        "ms at 0",
        "bytes ×",
        "time ×"
    );
    for (name, f) in row {
        match f {
            Some(f) => println!(
                "  {:<10} {:>10} {:>10} {:>5} {:>9.1} [{:>4.0}–{:>4.0}] {:>9}   {:>7.2} {:>7.2}",
                name,
                f.bytes,
                f.bytes_with_handshake,
                f.round_trips.map_or("-".into(), |r| r.to_string()),
                f.ms,
                f.ms_min,
                f.ms_max,
                f.ms_at_0.map_or("-".into(), |m| format!("{m:.1}")),
                f.bytes_with_handshake as f64 / r.bytes_with_handshake.max(1) as f64,
                f.ms / r.ms.max(0.001),
            ),
            None => println!("  {name:<10} (not run)"),
        }
    }
    for (name, f) in row {
        if let Some(f) = f.as_ref().filter(|f| !f.note.is_empty()) {
            println!("    {name}: {}", f.note);
        }
    }
}

/// A goal, judged on medians.
pub(crate) fn verdict(goal: &str, met: Option<bool>) {
    let v = match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    };
    println!("  {v:<12} {goal}");
}
