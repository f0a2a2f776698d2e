//! `rookery serve --http`: the UI's API over HTTP and server-sent events, against the real
//! binary on loopback. The token is checked before routing; bad input of every kind gets a JSON
//! error with a stable code, and leaves what is stored unchanged.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    serve_with(dir, None)
}

/// `rookery serve --http` on `dir`; with `nofile`, under that limit of open files.
fn serve_with(dir: &Path, nofile: Option<u32>) -> Server {
    let bin = env!("CARGO_BIN_EXE_rookery");
    let args = [
        "--data-dir",
        dir.to_str().unwrap(),
        "--offline",
        "--bind",
        "127.0.0.1:0",
        "serve",
        "--http",
        "127.0.0.1:0",
    ];
    let mut cmd = match nofile {
        None => Command::new(bin),
        Some(n) => {
            let mut c = Command::new("sh");
            c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), bin]);
            c
        }
    };
    let mut child = cmd
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .find_map(|l| {
            let l = l.ok()?;
            l.strip_prefix("open http://127.0.0.1:").map(str::to_string)
        })
        .expect("serve prints the URL to open");
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let (port, token) = url.split_once("/#token=").unwrap();
    Server {
        child,
        port: port.parse().unwrap(),
        token: token.to_string(),
    }
}

/// One HTTP/1.1 exchange: (status, body).
fn request(port: u16, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!("Host: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\n");
    exchange(port, method, path, &head, body)
}

/// One HTTP/1.1 exchange with the header lines given: (status, body).
fn exchange(port: u16, method: &str, path: &str, headers: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A server that never answers fails the test instead of hanging it.
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// The event stream, opened with the token as a query parameter (as `EventSource` does).
fn events(s: &Server) -> BufReader<TcpStream> {
    let mut sock = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    write!(
        sock,
        "GET /api/events?token={} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        s.token
    )
    .unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    BufReader::new(sock)
}

fn json(s: &Server, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, text) = request(s.port, method, path, Some(&s.token), body.as_bytes());
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, v)
}

#[test]
fn the_api_needs_the_token_before_anything_else() {
    let d = tempfile::tempdir().unwrap();
    let s = serve(d.path());
    for (method, path) in [
        ("POST", "/api/me"),
        ("POST", "/api/timeline"),
        ("POST", "/api/does-not-exist"),
        ("GET", "/api"),
        ("GET", "/api/events"),
    ] {
        let (status, body) = request(s.port, method, path, None, b"");
        assert_eq!(status, 401, "{path}");
        assert!(body.contains("unauthorized"), "{path}: {body}");
        let (status, _) = request(s.port, method, path, Some("wrong"), b"");
        assert_eq!(status, 401, "{path} with a wrong token");
    }
    let (status, _) = request(s.port, "POST", "/api/post", None, br#"{"text":"x"}"#);
    assert_eq!(status, 401);
    // With the token, an unknown call is a 404 and a known one works.
    assert_eq!(json(&s, "POST", "/api/does-not-exist", "").0, 404);
    let (status, me) = json(&s, "POST", "/api/me", "");
    assert_eq!(status, 200);
    assert_eq!(me["key"].as_str().unwrap().len(), 64);
    // As a query parameter the token opens the event stream only (EventSource cannot send
    // headers); anywhere else it would end up in addresses people copy.
    let q = format!("/api/me?token={}", s.token);
    assert_eq!(request(s.port, "POST", &q, None, b"").0, 401);
    let q = format!("/api/blob?token={}", s.token);
    let body = format!(r#"{{"hash":"{}"}}"#, "00".repeat(32));
    assert_eq!(request(s.port, "POST", &q, None, body.as_bytes()).0, 401);
    let mut line = String::new();
    events(&s).read_line(&mut line).unwrap();
    assert!(line.contains("200"), "{line}");
}

#[test]
fn posts_profiles_and_events_over_http() {
    let d = tempfile::tempdir().unwrap();
    let s = serve(d.path());
    // Listen to events first.
    let mut events = events(&s);
    let mut line = String::new();
    events.read_line(&mut line).unwrap();
    assert!(line.contains("200"), "{line}");

    let (status, p) = json(
        &s,
        "POST",
        "/api/set_profile",
        r#"{"name":"Ada","bio":"writes"}"#,
    );
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["name"], "Ada");
    let (status, m) = json(&s, "POST", "/api/post", r#"{"text":"hello **world**"}"#);
    assert_eq!(status, 200, "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    let (_, page) = json(&s, "POST", "/api/timeline", r#"{"limit":5}"#);
    assert_eq!(page["items"][0]["id"], id.as_str());
    let (status, r) = json(
        &s,
        "POST",
        "/api/reply",
        &format!(r#"{{"parent":"{id}","text":"and a reply"}}"#),
    );
    assert_eq!(status, 200, "{r}");
    let (_, t) = json(&s, "POST", "/api/thread", &format!(r#"{{"id":"{id}"}}"#));
    assert_eq!(t["root"]["id"], id.as_str());
    assert_eq!(t["replies"].as_array().unwrap().len(), 1);
    assert_eq!(t["root"]["reply_count"], 1);
    // In the timeline, the thread's first post carries its reply count; the reply none.
    let (_, page) = json(&s, "POST", "/api/timeline", "");
    let items = page["items"].as_array().unwrap();
    let root = items.iter().find(|m| m["id"] == id.as_str()).unwrap();
    assert_eq!(root["reply_count"], 1);
    assert!(items[0]["reply_count"].is_null());

    // The post arrived as an event.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        line.clear();
        if events.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        seen = line.starts_with("data:") && line.contains(&id) && line.contains("published");
    }
    assert!(seen, "the published post arrives on /api/events");

    // An avatar upload (a real PNG, with its transparency), served back as an image made safe
    // again, with a locked-down CSP.
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbaImage::from_pixel(30, 20, image::Rgba([200, 10, 10, 100]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let png = png.into_inner();
    let head = format!(
        "Host: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: image/png\r\n",
        s.token
    );
    let (status, text) = exchange(s.port, "POST", "/api/set_avatar", &head, &png);
    assert_eq!(status, 200, "{text}");
    let p: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hash = p["avatar"].as_str().unwrap();
    let body = format!(r#"{{"hash":"{hash}"}}"#);
    let mut sock = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    write!(
        sock,
        "POST /api/blob HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        s.token,
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    assert!(head.contains("content-type: image/png"), "{head}");
    assert!(head.contains("sandbox"), "{head}");
    let served = image::load_from_memory(&raw[split + 4..]).unwrap();
    assert_eq!((served.width(), served.height()), (30, 20));
}

#[test]
fn bad_requests_get_json_errors_and_change_nothing() {
    let d = tempfile::tempdir().unwrap();
    let s = serve(d.path());
    let (_, m) = json(&s, "POST", "/api/post", r#"{"text":"keep me"}"#);
    let id = m["id"].as_str().unwrap().to_string();
    let huge = format!(r#"{{"text":"{}"}}"#, "x".repeat(3 << 20));
    let cases: Vec<(&str, String, String, u16, &str)> = vec![
        (
            "POST",
            "/api/post".into(),
            "{not json".into(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/post".into(),
            r#"{"txt":"missing field"}"#.into(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/post".into(),
            r#"{"text":""}"#.into(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/post".into(),
            format!(r#"{{"text":"{}"}}"#, "y".repeat(5000)),
            413,
            "too_large",
        ),
        (
            "POST",
            "/api/reply".into(),
            r#"{"parent":"zz","text":"x"}"#.into(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/follow".into(),
            r#"{"address":"nonsense"}"#.into(),
            400,
            "bad_address",
        ),
        (
            "POST",
            "/api/unfollow".into(),
            r#"{"key":"12"}"#.into(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/delete_message".into(),
            format!(r#"{{"id":"{}"}}"#, "ab".repeat(32)),
            404,
            "unknown_message",
        ),
        (
            "POST",
            "/api/thread".into(),
            r#"{"id":"nothex"}"#.into(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/profile".into(),
            r#"{"key":"abc"}"#.into(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/timeline".into(),
            r#"{"cursor":"garbage"}"#.into(),
            400,
            "bad_cursor",
        ),
        (
            "POST",
            "/api/blob".into(),
            format!(r#"{{"hash":"{}"}}"#, "00".repeat(32)),
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/set_settings".into(),
            r#"{"relays":"maybe"}"#.into(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/timeline".into(),
            r#"{"limit":"abc"}"#.into(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/timeline".into(),
            r#"{"limit":5,"unknown":1}"#.into(),
            400,
            "bad_request",
        ),
        ("GET", "/api/post".into(), String::new(), 405, "bad_request"),
    ];
    // An upload that is not an image.
    let head = format!(
        "Host: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/octet-stream\r\n",
        s.token
    );
    let (status, body) = exchange(s.port, "POST", "/api/set_avatar", &head, b"not an image");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("bad_request"), "{body}");
    // The same rule as the command line's, in the same words (tests/cli.rs).
    let (_, v) = json(&s, "POST", "/api/post", r#"{"text":"  "}"#);
    assert_eq!(v["error"]["message"], "a post needs some text");
    for (method, path, body, want, code) in cases {
        let (status, v) = json(&s, method, &path, &body);
        assert_eq!(status, want, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], code, "{method} {path}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // A body over the cap is refused before it is read in full.
    let (status, body) = request(s.port, "POST", "/api/post", Some(&s.token), huge.as_bytes());
    assert_eq!(status, 413);
    assert!(body.contains("too_large"), "{body}");
    // What was stored is still there, alone.
    let (_, page) = json(&s, "POST", "/api/timeline", "");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
}

#[test]
fn requests_for_another_host_or_of_another_type_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let s = serve(d.path());
    let auth = format!("Authorization: Bearer {}\r\n", s.token);
    let json = "Content-Type: application/json\r\n";
    // A page on another site whose name points at 127.0.0.1 (DNS rebinding), or another port.
    for host in [
        "evil.example".to_string(),
        format!("evil.example:{}", s.port),
        format!("127.0.0.1:{}", s.port + 1),
        "127.0.0.1.evil.example".to_string(),
    ] {
        let head = format!("Host: {host}\r\n{auth}{json}");
        let (status, body) = exchange(s.port, "POST", "/api/me", &head, b"");
        assert_eq!(status, 421, "{host}: {body}");
        assert!(body.contains("bad_request"), "{body}");
    }
    for host in ["127.0.0.1".to_string(), format!("localhost:{}", s.port)] {
        let head = format!("Host: {host}\r\n{auth}{json}");
        assert_eq!(
            exchange(s.port, "POST", "/api/me", &head, b"").0,
            200,
            "{host}"
        );
    }
    // A command's body must say it is JSON; an upload's, that it is bytes.
    let host = "Host: 127.0.0.1\r\n";
    let form = format!("{host}{auth}Content-Type: application/x-www-form-urlencoded\r\n");
    let (status, body) = exchange(s.port, "POST", "/api/post", &form, br#"{"text":"x"}"#);
    assert_eq!(status, 415, "{body}");
    let head = format!("{host}{auth}{json}");
    let (status, _) = exchange(s.port, "POST", "/api/set_avatar", &head, b"\x89PNG");
    assert_eq!(status, 415);
    // Nothing was published.
    let (_, page) = json_call(&s, "/api/timeline");
    assert!(page["items"].as_array().unwrap().is_empty());
}

fn json_call(s: &Server, path: &str) -> (u16, serde_json::Value) {
    json(s, "POST", path, "")
}

#[test]
fn idle_and_slow_connections_do_not_take_the_node_down() {
    // Few descriptors, and far more connections than it may serve at once: half idle, half
    // sending a request head a byte at a time and stopping.
    let d = tempfile::tempdir().unwrap();
    let mut s = serve_with(d.path(), Some(200));
    let mut hogs = Vec::new();
    for i in 0..400 {
        let Ok(mut c) = TcpStream::connect(("127.0.0.1", s.port)) else {
            continue;
        };
        if i % 2 == 0 {
            let _ = c.write_all(b"POST /api/me HTTP/1.1\r\nHo");
        }
        hogs.push(c);
    }
    // An honest client is served (once the idle ones have timed out), and the node lives on.
    let (status, me) = json_call(&s, "/api/me");
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["key"].as_str().unwrap().len(), 64);
    drop(hogs);
    let (status, _) = json(&s, "POST", "/api/post", r#"{"text":"still here"}"#);
    assert_eq!(status, 200);
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "the server is still running"
    );
}
