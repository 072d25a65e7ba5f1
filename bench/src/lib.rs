//! Shared helpers of the benchmarks: timing loops and result lines.

use std::time::{Duration, Instant};

/// Runs `work` repeatedly for about `budget` and returns (iterations, elapsed).
pub async fn for_about<F, Fut>(budget: Duration, mut work: F) -> (u64, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let started = Instant::now();
    let mut iterations = 0;
    while started.elapsed() < budget {
        work().await;
        iterations += 1;
    }
    (iterations, started.elapsed())
}

/// Prints one result line: what was measured, and the rate per second.
pub fn report(what: &str, count: u64, elapsed: Duration, unit: &str) {
    let rate = count as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
    println!("{what:<48} {rate:>12.1} {unit}/s  ({count} in {:.2} s)", elapsed.as_secs_f64());
}
