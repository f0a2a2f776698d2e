//! The demo network: a few local peers with names, avatars and a few days of history (posts,
//! threads across people, mentions of the user), on loopback, followed by the user's node, so a
//! newcomer sees a living network in the first minute. While it runs, the peers keep posting
//! now and then, and some of what they post mentions or answers the user.
//!
//! The peers are real nodes, each with its own key and redb under `<data>/demo/<name>`, synced
//! to the user's node over iroh like any peer. Their history is written once (backdated, in
//! time order across all of them) and kept, so the user's follows stay valid across restarts.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rookery_feed::{Content, MessageId, Post, PublicKey};
use rookery_node::{DemoState, NetConfig, NetError, NetOptions, Network, Node, NodeError, now_ms};
use rookery_testkit::Rng;
use tokio::task::JoinHandle;

/// A demo person: name, bio, avatar colour, and what they post about.
struct Persona {
    name: &'static str,
    bio: &'static str,
    colour: &'static str,
    lines: &'static [&'static str],
}

const PERSONAS: [Persona; 5] = [
    Persona {
        name: "Alice",
        bio: "Allotment gardener, seed swapper, slow reader. Tomatoes are a personality.",
        colour: "#2f855a",
        lines: &[
            "First ripe tomato of the season and I ate it standing in the bed like a raccoon.",
            "Seed swap on Saturday: I'm bringing **Cherokee Purple** and far too many chillies.",
            "The slugs have unionised. They took the lettuce and left a note.",
            "Mulched everything before the rain. My back disagrees with my choices.",
            "Today's harvest:\n\n- 2 courgettes (the size of a forearm)\n- a fistful of beans\n- one heroic carrot",
            "Reading *The Overstory* again. Trees are better people than most people.",
            "Comfrey tea for the tomatoes smells exactly as bad as everyone warned.",
            "Planted garlic in the dark with a head torch. Peak hobby behaviour.",
            "Note to self: label the seedlings. Past me thought she'd remember. She did not.",
            "The robin follows me around the plot like a tiny supervisor.",
            "Has anyone grown oca? Thinking of trying it next spring.",
            "Frost forecast, so every pot is indoors and the kitchen is a jungle.",
            "Compost is just time you can hold in your hands.",
            "Rain at last. The water butts are full and so is my heart.",
        ],
    },
    Persona {
        name: "Bram",
        bio: "Writes Rust by day, rides gravel by night. Opinions about tyre pressure.",
        colour: "#2b6cb0",
        lines: &[
            "Spent the morning chasing a lifetime error that turned out to be one missing `move`.",
            "Gravel loop before work: 42 km, two flats, zero regrets.",
            "Hot take: most benchmarks measure the benchmark. Compare side by side or don't bother.",
            "Finally switched the team to `cargo nextest` and the CI is 3 minutes faster.",
            "Property tests found a bug my unit tests had been politely ignoring for a year.",
            "Tubeless setup took an hour and a whole bottle of sealant, most of it on the floor.",
            "Reading the iroh docs on a train with no signal. The irony is not lost on me.",
            "Content-addressed storage is the answer. I have forgotten the question.",
            "New bike day! Steel frame, wide tyres, and a bell that sounds like a tiny church.",
            "Rewrote the parser with `nom` and deleted 400 lines. Good day.",
            "If your sync protocol needs a central server, it's a client with extra steps.",
            "Headwind both ways. Physics is a lie.",
            "The best code review comment I got this week: \"what if we just didn't\".",
            "Shipping a release on a Friday because I live dangerously.",
        ],
    },
    Persona {
        name: "Chioma",
        bio: "Amateur astronomer. Dark skies, cold tea, long exposures.",
        colour: "#6b46c1",
        lines: &[
            "Clear skies tonight! Saturn's rings through the 8-inch are unreal.",
            "Caught the ISS pass: 4 minutes of a very bright, very fast dot. Still thrilling.",
            "Stacked 300 frames of the Orion Nebula and it finally looks like the pictures.",
            "Cloudy again. Spent the night cleaning the mirror instead. Romantic.",
            "Reminder: the Perseids peak this week. Lie down, look up, wait.",
            "Jupiter's moons shifted position between 10pm and midnight. Watching orbits happen is wild.",
            "New red torch so I stop ruining my own night vision. Should have done this years ago.",
            "The Andromeda galaxy is 2.5 million light years away and I saw it with binoculars.",
            "Light pollution map says my garden is Bortle 5. My garden says otherwise after midnight.",
            "Tried sketching the Moon at the eyepiece. It looks like a potato. A lovely potato.",
            "Meteor at 2:14am, green and long, right across the Plough.",
            "Cold tea, warm socks, clear sky. Perfect evening.",
            "Dew shield saved the session. Lesson learned the soggy way.",
        ],
    },
    Persona {
        name: "Dmitri",
        bio: "Baker. Sourdough, rye, and the occasional cinnamon disaster.",
        colour: "#c05621",
        lines: &[
            "Sourdough starter is six years old today. She's more reliable than I am.",
            "Dark rye with caraway, 48-hour ferment. The kitchen smells like a Baltic bakery.",
            "Cinnamon buns: attempt three. The spiral is finally a spiral.",
            "Hydration 78% and the dough is behaving. Who is this dough and what has it done with mine?",
            "Tip: cold-retard overnight. The flavour is worth the patience.",
            "Burnt the first batch, ate it anyway. Baker's privilege.",
            "Recipe for the rye, since people asked:\n\n1. 500 g rye\n2. 400 g water\n3. 100 g starter\n4. salt, patience",
            "Bought a proper banneton. My loaves now have stripes and I feel like a professional.",
            "Sunday bake done. Neighbours fed. Flour everywhere, including the cat.",
            "Focaccia with rosemary from the garden and far too much olive oil. Correct amount, actually.",
            "The oven thermometer says the oven lies by 15 degrees. Everything makes sense now.",
            "Croissants are a two-day project and a lifetime humility lesson.",
        ],
    },
    Persona {
        name: "Elif",
        bio: "Street photographer. 35 mm, black and white, good shoes.",
        colour: "#b83280",
        lines: &[
            "Golden hour on the bridge, and everyone walking home looked like a film still.",
            "Developed two rolls of HP5 tonight. 3 keepers out of 72 is a great ratio, honestly.",
            "Rain is the best filter. Reflections everywhere.",
            "Shot a whole roll at the market. The fishmonger posed like a movie star.",
            "Reminder that your phone is a perfectly good camera. Go out and look.",
            "Printed my first 8x10 in the darkroom. Dodged, burned, and nearly cried.",
            "Fog this morning turned the whole city into a charcoal drawing.",
            "Zine is coming together: 24 pages, one street, one year.",
            "Learning to wait for the moment instead of chasing it.",
            "Light through the tram window at 8am is unreasonably beautiful.",
            "Scanned negatives all evening. My dust-removal skills are still tragic.",
            "Walked 18 km with the camera today and took 11 pictures. Worth it.",
        ],
    },
];

/// What people say in replies.
const REPLIES: [&str; 20] = [
    "This is brilliant, thank you for sharing!",
    "Ha, I know exactly that feeling.",
    "Oh I'd love to see a photo of that.",
    "Same here. Glad it's not just me.",
    "Saving this for later.",
    "How long did that take you?",
    "Okay, now I want to try it too.",
    "Genuinely made my day.",
    "You make it sound so easy!",
    "Any tips for a beginner?",
    "That's wonderful. Well done!",
    "I laughed out loud at this.",
    "Next time, invite me!",
    "Patience really is the secret ingredient, isn't it.",
    "This is why I love this corner of the network.",
    "Bookmarked. Thank you!",
    "Wait, really? That's amazing.",
    "Honestly the best thing I've read today.",
    "Can confirm, tried it last week.",
    "Sending good vibes your way.",
];

/// What the demo says to the user, who is new.
const TO_USER: [&str; 8] = [
    "{you} welcome to the network! Say hi whenever you like.",
    "{you} have you tried the reply button yet? Threads are the fun part.",
    "{you} good to see you around. Anything you're working on?",
    "{you} you'd enjoy this: clear skies forecast for the weekend.",
    "{you} there's fresh bread here if you ever drop by.",
    "{you} what should I post about next? Taking requests.",
    "{you} press `n` to write a post and `j`/`k` to move around.",
    "{you} welcome! This whole network runs without a server, just peers like us.",
];

/// A line to the user: addressed as `@name` when they have a one-word name; otherwise the
/// mention is in the post's mentions only, and the text starts with a capital.
fn to_user(template: &str, you: &str) -> String {
    let text = template.replace("{you}", you);
    let text = text.trim_start();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if you.is_empty() => c.to_uppercase().chain(chars).collect(),
        _ => text.to_string(),
    }
}

/// Posts of history in all.
const HISTORY_POSTS: u64 = 300;
/// How far back the history goes.
const HISTORY_MS: u64 = 4 * 24 * 3600 * 1000;

/// The demo network, running.
#[derive(Debug)]
pub(crate) struct Demo {
    peers: Vec<Network>,
    task: JoinHandle<()>,
}

/// The personas' initials in a 5 × 7 grid, a row a byte (the low five bits, left to right).
const INITIALS: [(char, [u8; 7]); 5] = [
    ('A', [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11]),
    ('B', [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e]),
    ('C', [0x0f, 0x10, 0x10, 0x10, 0x10, 0x10, 0x0f]),
    ('D', [0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e]),
    ('E', [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f]),
];

/// A round avatar: the persona's colour and initial, as a PNG (avatars are raster images, like
/// everyone's: see `rookery_node::images`).
fn avatar(p: &Persona) -> Vec<u8> {
    const SIDE: u32 = 96;
    const SCALE: u32 = 6;
    let hex = |i: usize| u8::from_str_radix(&p.colour[i..i + 2], 16).unwrap_or(0x80);
    let colour = image::Rgba([hex(1), hex(3), hex(5), 255]);
    let glyph = INITIALS
        .iter()
        .find(|(c, _)| p.name.starts_with(*c))
        .map_or([0; 7], |(_, g)| *g);
    let (gx, gy) = ((SIDE - 5 * SCALE) / 2, (SIDE - 7 * SCALE) / 2);
    let img = image::RgbaImage::from_fn(SIDE, SIDE, |x, y| {
        let (dx, dy) = (x as i64 * 2 - 95, y as i64 * 2 - 95);
        if dx * dx + dy * dy > 96 * 96 {
            return image::Rgba([0, 0, 0, 0]);
        }
        let inside = x >= gx && y >= gy && x < gx + 5 * SCALE && y < gy + 7 * SCALE;
        let on = inside && glyph[((y - gy) / SCALE) as usize] & (0x10 >> ((x - gx) / SCALE)) != 0;
        if on {
            image::Rgba([255, 255, 255, 255])
        } else {
            colour
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    // Encoding pixels held in memory as PNG cannot fail.
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

/// Where each list of lines is up to: every list is dealt in turn from a random start, so
/// nothing repeats until the whole list has been used.
#[derive(Clone, Debug)]
struct Decks {
    replies: usize,
    to_user: usize,
    lines: [usize; PERSONAS.len()],
}

impl Decks {
    fn new(rng: &mut Rng) -> Self {
        let mut start = || (rng.next_u64() % 1000) as usize;
        Decks {
            replies: start(),
            to_user: start(),
            lines: std::array::from_fn(|_| start()),
        }
    }

    fn deal<'a>(at: &mut usize, items: &[&'a str]) -> &'a str {
        *at += 1;
        items[*at % items.len()]
    }

    fn reply(&mut self) -> &'static str {
        Self::deal(&mut self.replies, &REPLIES)
    }

    fn greeting(&mut self) -> &'static str {
        Self::deal(&mut self.to_user, &TO_USER)
    }

    fn line(&mut self, persona: usize) -> &'static str {
        Self::deal(&mut self.lines[persona], PERSONAS[persona].lines)
    }
}

/// How the user is addressed in text: `@name` when they have a one-word name.
fn address(user: &Node) -> String {
    match user.name_of(&user.id()).ok().flatten() {
        Some(n)
            if !n.is_empty()
                && n.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-') =>
        {
            format!("@{n}")
        }
        _ => String::new(),
    }
}

/// A post in the history: who wrote it, its id, and its thread's root.
struct Written {
    persona: usize,
    id: MessageId,
    root: MessageId,
    author: PublicKey,
}

/// Writes the history of every persona, in time order across them.
fn backfill(nodes: &[Arc<Node>], user: &Node, rng: &mut Rng) -> Result<(), NodeError> {
    let me = user.id();
    let you = address(user);
    let mut decks = Decks::new(rng);
    let start = now_ms().saturating_sub(HISTORY_MS);
    let step = HISTORY_MS / (HISTORY_POSTS + 1);
    let mut written: Vec<Written> = Vec::new();
    for i in 0..HISTORY_POSTS {
        let persona = (rng.unit() * PERSONAS.len() as f64) as usize % PERSONAS.len();
        let at = start + i * step + (rng.unit() * step as f64 * 0.8) as u64;
        let u = rng.unit();
        let others: Vec<&Written> = written
            .iter()
            .rev()
            .take(40)
            .filter(|w| w.persona != persona)
            .collect();
        let post = if u < 0.3 && !others.is_empty() {
            // A reply to someone's recent post, often in a longer thread.
            let parent = others[(rng.unit() * others.len() as f64) as usize % others.len()];
            Post::reply(decks.reply(), vec![], parent.root, parent.id, parent.author)
        } else if u < 0.34 || i + 3 >= HISTORY_POSTS {
            let text = to_user(decks.greeting(), &you);
            Post {
                text,
                mentions: vec![me],
                reply: None,
            }
        } else {
            let mut text = decks.line(persona).to_string();
            let mut mentions = vec![];
            if rng.unit() < 0.25 {
                let other = (persona + 1 + (rng.unit() * 4.0) as usize) % PERSONAS.len();
                text.push_str(&format!(" cc @{}", PERSONAS[other].name));
                mentions.push(nodes[other].id());
            }
            Post {
                text,
                mentions,
                reply: None,
            }
        };
        let root = post.reply.map(|r| r.root);
        let id = nodes[persona].publish_at(Content::Post(post), at)?.id();
        written.push(Written {
            persona,
            id,
            root: root.unwrap_or(id),
            author: nodes[persona].id(),
        });
    }
    Ok(())
}

impl Demo {
    /// Starts the demo peers under `dir` (writing their history the first time), connects the
    /// user's node to them and follows them.
    pub(crate) async fn start(user: &Network, dir: &Path) -> Result<Demo, NetError> {
        let rng = Rng::new(now_ms() | 1);
        let mut nodes = Vec::new();
        for p in &PERSONAS {
            nodes.push(Arc::new(Node::open(dir.join(p.name.to_lowercase()))?));
        }
        // History is written once; profiles and follows after it, then the `demo.ready`
        // setting, so a run cut short in between finishes the job next time.
        if nodes[0].store().head(&nodes[0].id())?.is_none() {
            let nodes = nodes.clone();
            let user = user.node().clone();
            let mut r = rng.clone();
            tokio::task::spawn_blocking(move || backfill(&nodes, &user, &mut r))
                .await
                .map_err(|e| NetError::Blobs(Box::new(e)))??;
        }
        let ready = nodes[0].store().demo_state()?.ready;
        let mut peers = Vec::new();
        let started = Self::connect(user, &nodes, ready, &mut peers).await;
        if let Err(e) = started {
            // Stop what did start, so the databases close and a retry can open them.
            for p in &peers {
                p.shutdown().await;
            }
            return Err(e);
        }
        let task = tokio::spawn(live(nodes, user.node().clone(), rng));
        Ok(Demo { peers, task })
    }

    /// Starts each peer online (giving it a profile and follows unless `ready`), pushing each
    /// onto `peers` as it starts; then the user follows and connects to all of them.
    async fn connect(
        user: &Network,
        nodes: &[Arc<Node>],
        ready: bool,
        peers: &mut Vec<Network>,
    ) -> Result<(), NetError> {
        for (node, p) in nodes.iter().zip(&PERSONAS) {
            let net = node
                .start(NetConfig {
                    net: NetOptions::loopback(),
                    ..NetConfig::default()
                })
                .await?;
            peers.push(net.clone());
            if !ready {
                net.set_profile(p.name, p.bio, Some(&avatar(p))).await?;
                for other in nodes {
                    if other.id() != node.id() {
                        node.follow(other.id())?;
                    }
                }
                node.follow(user.id())?;
            }
        }
        if !ready {
            nodes[0]
                .store()
                .set_demo_state(&DemoState { ready: true })?;
        }
        let followed = user.node().followed()?;
        for net in peers.iter() {
            if !followed.contains(&net.id()) {
                user.node().follow(net.id())?;
            }
            user.connect(&net.ticket()).await?;
            net.connect(&user.ticket()).await.ok();
        }
        Ok(())
    }

    /// Stops the peers.
    pub(crate) async fn shutdown(self) {
        self.task.abort();
        for p in &self.peers {
            p.shutdown().await;
        }
    }
}

/// Keeps the network alive: now and then a peer posts, sometimes to the user.
async fn live(nodes: Vec<Arc<Node>>, user: Arc<Node>, mut rng: Rng) {
    let mut decks = Decks::new(&mut rng);
    loop {
        let wait = 15_000 + (rng.unit() * 30_000.0) as u64;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let i = (rng.unit() * nodes.len() as f64) as usize % nodes.len();
        let u = rng.unit();
        let you = address(&user);
        let mine = user
            .author_feed(&user.id(), None, 5)
            .ok()
            .and_then(|p| p.items.into_iter().next());
        let post = match mine {
            Some(item) if u < 0.25 => {
                let parent = item.message.id();
                let root = match &item.message.message().content {
                    Content::Post(Post { reply: Some(r), .. }) => r.root,
                    _ => parent,
                };
                Post::reply(decks.reply(), vec![], root, parent, user.id())
            }
            _ if u < 0.4 => Post {
                text: to_user(decks.greeting(), &you),
                mentions: vec![user.id()],
                reply: None,
            },
            _ => Post {
                text: decks.line(i).to_string(),
                mentions: vec![],
                reply: None,
            },
        };
        if let Err(e) = nodes[i].publish_at(Content::Post(post), now_ms()) {
            tracing::warn!("demo post failed: {e}");
        }
    }
}
