//! A fixed-rate HTTP load generator for `scripts/bench-verify`: sends
//! POSTs at a steady `--rate` over `--connections` keep-alive connections
//! and reports latency per window. Each request has its time on a fixed
//! schedule; latency runs from that time (or from when it was sent, if
//! later), so a stalled server shows as the requests queued behind it, not
//! as a quiet pause (no coordinated omission).
//!
//! `loadgen ADDR PATH BODIES RATE SECONDS [CONNECTIONS=16] [WINDOW_SECS=60] [HEADER…]`
//! where BODIES is a file of request bodies, one per line.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Plan {
    addr: String,
    requests: Vec<Vec<u8>>,
    rate: f64,
    seconds: u64,
    connections: usize,
    window: u64,
}

/// Latencies (µs) per window, and the failures.
#[derive(Default)]
struct Results {
    windows: Vec<Vec<u32>>,
    errors: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!(
            "usage: loadgen ADDR PATH BODIES RATE SECONDS [CONNECTIONS] [WINDOW_SECS] [HEADER…]"
        );
        std::process::exit(2);
    }
    let (addr, path) = (args[1].clone(), &args[2]);
    let bodies = std::fs::read_to_string(&args[3]).expect("bodies file");
    let headers: String = args.iter().skip(8).map(|h| format!("{h}\r\n")).collect();
    let requests = bodies
        .lines()
        .filter(|l| !l.is_empty())
        .map(|body| {
            format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        })
        .collect();
    let plan = Arc::new(Plan {
        addr,
        requests,
        rate: args[4].parse().expect("rate"),
        seconds: args[5].parse().expect("seconds"),
        connections: args.get(6).map_or(16, |c| c.parse().expect("connections")),
        window: args.get(7).map_or(60, |w| w.parse().expect("window")),
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let results = runtime.block_on(run(plan.clone()));
    report(&plan, &results);
}

async fn run(plan: Arc<Plan>) -> Results {
    let windows = (plan.seconds.div_ceil(plan.window)) as usize;
    let results = Arc::new(Mutex::new(Results { windows: vec![Vec::new(); windows], errors: 0 }));
    let start = Instant::now() + Duration::from_millis(100);
    let total = (plan.rate * plan.seconds as f64) as u64;
    let tasks: Vec<_> = (0..plan.connections)
        .map(|c| {
            let (plan, results) = (plan.clone(), results.clone());
            tokio::spawn(async move { connection(&plan, c, total, start, &results).await })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    Arc::try_unwrap(results).ok().unwrap().into_inner().unwrap()
}

/// Sends requests `c`, `c + C`, `c + 2C`… each at its time.
async fn connection(plan: &Plan, c: usize, total: u64, start: Instant, results: &Mutex<Results>) {
    let mut stream = TcpStream::connect(&plan.addr).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut i = c as u64;
    while i < total {
        let due = start + Duration::from_secs_f64(i as f64 / plan.rate);
        let now = Instant::now();
        // Timers are coarse (about 1 ms): sleep only for longer waits.
        if due > now + Duration::from_millis(2) {
            tokio::time::sleep_until((due - Duration::from_millis(1)).into()).await;
        }
        // Never sent before its time (an answer back before it would count
        // as no wait at all): the last stretch is waited out by yielding.
        while Instant::now() < due {
            tokio::task::yield_now().await;
        }
        let sent = Instant::now();
        let request = &plan.requests[i as usize % plan.requests.len()];
        let ok =
            stream.write_all(request).await.is_ok() && read_answer(&mut stream, &mut buf).await;
        let latency = Instant::now().saturating_duration_since(sent);
        let window = ((due - start).as_secs() / plan.window) as usize;
        {
            let mut r = results.lock().unwrap();
            match r.windows.get_mut(window) {
                Some(w) if ok => w.push(latency.as_micros().min(u128::from(u32::MAX)) as u32),
                _ if !ok => r.errors += 1,
                _ => {}
            }
        }
        if !ok {
            match TcpStream::connect(&plan.addr).await {
                Ok(s) => stream = s,
                Err(_) => return,
            }
        }
        i += plan.connections as u64;
    }
}

/// Reads one HTTP/1.1 answer; true for a 200.
async fn read_answer(stream: &mut TcpStream, buf: &mut [u8]) -> bool {
    let mut filled = 0;
    loop {
        let Ok(n) = stream.read(&mut buf[filled..]).await else { return false };
        if n == 0 {
            return false;
        }
        filled += n;
        let Some(end) = find(&buf[..filled], b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while filled < end + 4 + length {
            match stream.read(&mut buf[filled..]).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => filled += n,
            }
        }
        return head.starts_with("http/1.1 200");
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

fn report(plan: &Plan, results: &Results) {
    let mut all = Vec::new();
    for (n, window) in results.windows.iter().enumerate() {
        let mut w = window.clone();
        w.sort_unstable();
        println!(
            "window {:>2} ({}s): {} calls, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
            n + 1,
            plan.window,
            w.len(),
            w.len() as f64 / plan.window.min(plan.seconds) as f64,
            percentile(&w, 0.50),
            percentile(&w, 0.99),
            percentile(&w, 1.0),
        );
        all.extend(w);
    }
    all.sort_unstable();
    println!(
        "total: {} calls at {:.0}/s asked, {} failed, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
        all.len(),
        plan.rate,
        results.errors,
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
    );
}
