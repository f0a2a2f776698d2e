//! Sync frames on arbitrary bytes: reading a request or a response never panics, and a request
//! that decodes can be checked against the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rookery_sync::wire::{Request, Response, read_frame};

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    if let Ok(r) = rt.block_on(read_frame::<Request>(&mut &data[..])) {
        let _ = r.check();
    }
    let _ = rt.block_on(read_frame::<Response>(&mut &data[..]));
});
