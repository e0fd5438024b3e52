//! A fault to inject, for the tests of what the parent does when an engine
//! never comes back: with `VERSUS_TEST_STALL_LOAD=MIB` in the environment,
//! every load in the worker takes MIB MiB, touches it, and then waits for
//! ever without looking at its cancel flag, as a stuck driver or an
//! allocation loop would. Nothing else reads this variable.

use std::sync::Arc;

use super::super::job::Loader;

pub const VARIABLE: &str = "VERSUS_TEST_STALL_LOAD";

/// `loader`, or a loader that stalls when the variable is set.
pub fn wrap(loader: Loader) -> Loader {
    let Some(mib) = std::env::var(VARIABLE).ok().and_then(|v| v.parse::<usize>().ok()) else { return loader };
    tracing::warn!("{VARIABLE}={mib}: every load stalls (a test)");
    Arc::new(move |_, _| {
        let mut held = vec![0u8; mib << 20];
        for page in held.chunks_mut(4096) {
            page[0] = 1;
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
            std::hint::black_box(&held);
        }
    })
}
