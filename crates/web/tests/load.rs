//! 2,000 classifications from 32 concurrent clients on loopback: every answer right, none
//! lost; prints the throughput and the latencies (no limits on them: they depend on the
//! machine).

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Server, client, post, samples};

const REQUESTS: usize = 2_000;
const CLIENTS: usize = 32;

#[test]
#[ignore = "load test: run with --include-ignored"]
fn two_thousand_requests_from_32_clients_are_all_answered_right() {
    let server = Server::start();
    let samples = samples();
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(REQUESTS));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                let agent = client();
                loop {
                    let request = next.fetch_add(1, Ordering::Relaxed);
                    if request >= REQUESTS {
                        break;
                    }
                    let (name, digit, bytes) = &samples[request % samples.len()];
                    let url = server.url(&format!("/api/classify?name={name}"));
                    let sent = Instant::now();
                    let answer = post(&agent, &url, bytes);
                    let latency = sent.elapsed();
                    assert_eq!(
                        answer.status, 200,
                        "request {request}, {name}: {}",
                        answer.body
                    );
                    assert_eq!(answer.json()["digit"], *digit, "request {request}, {name}");
                    latencies.lock().unwrap().push(latency);
                }
            });
        }
    });
    let wall = started.elapsed();
    let mut latencies = latencies.into_inner().unwrap();
    assert_eq!(latencies.len(), REQUESTS, "every request answered");
    latencies.sort();
    let percentile = |p: f64| -> Duration {
        let rank = ((p / 100.0) * REQUESTS as f64).ceil() as usize;
        latencies[rank.clamp(1, REQUESTS) - 1]
    };
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    println!(
        "\n{REQUESTS} requests from {CLIENTS} clients, the {} sample images in turn, on {}\n",
        samples.len(),
        cpu_model()
    );
    println!("| requests/s | p50 ms | p90 ms | p99 ms | max ms | wall s |");
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {:.0} | {} | {} | {} | {} | {:.2} |",
        REQUESTS as f64 / wall.as_secs_f64(),
        ms(percentile(50.0)),
        ms(percentile(90.0)),
        ms(percentile(99.0)),
        ms(latencies[REQUESTS - 1]),
        wall.as_secs_f64()
    );
}

fn cpu_model() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "an unknown CPU".into());
    format!("{cores} cores of {model}")
}
