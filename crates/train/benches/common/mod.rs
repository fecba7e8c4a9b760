//! Helpers shared by the benchmarks.

pub mod peak;

/// The 1, 5 and 15-minute load averages, printed with the figures because the machines are
/// shared and a loaded machine skews every timing.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}
