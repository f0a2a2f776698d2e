//! Images made safe, on arbitrary bytes: never panics, and what passes is a PNG or JPEG that
//! passes again unchanged in size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rookery_node::images::{normalize, Image};

fuzz_target!(|data: &[u8]| {
    if let Ok(Image { bytes, mime, width, height }) = normalize(data, 256) {
        assert!(mime == "image/png" || mime == "image/jpeg");
        assert!(width.max(height) <= 256);
        let again = normalize(&bytes, 256).expect("a normalized image normalizes again");
        assert_eq!((again.width, again.height), (width, height));
    }
});
