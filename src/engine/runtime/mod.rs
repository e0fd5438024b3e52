//! Running models: the sequential scheduler on its named thread
//! (`scheduler.rs`, tested with the scripted engine of `scripted.rs`), the
//! models it keeps loaded between runs (`resident.rs`), the memory guard
//! (`memory.rs`) and the token sink every backend writes to (`sink.rs`).
//! In versus itself the queue runs in a worker process (`worker/`) that the
//! inference thread supervises; tests and benchmarks may run it in-process.

pub mod guard;
pub mod job;
pub mod memory;
pub mod resident;
pub mod scheduler;
#[cfg(test)]
pub(crate) mod scripted;
pub mod sink;
pub mod worker;
