//! The event-stream reader: the first byte picks where the input is cut in
//! two chunks, and both cuts must read the same events as one chunk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use versus::engine::sse::Parser;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let whole = Parser::default().push(body);
    let cut = usize::from(cut).min(body.len());
    let mut p = Parser::default();
    let split = p.push(&body[..cut]).and_then(|mut a| {
        a.extend(p.push(&body[cut..])?);
        Ok(a)
    });
    if let (Ok(a), Ok(b)) = (&whole, &split) {
        assert_eq!(a, b);
    }
});
