//! How long each picture takes to draw and encode, the cost `train` pays per epoch (curves)
//! and once per run (confusion, mistakes): `cargo bench -p figures --profile dev`.

use std::time::Instant;

use figures::{EpochPoint, Mistake, confusion, curves, mistakes};

fn median_ms(run: &dyn Fn()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn png(picture: &image::RgbImage) -> usize {
    let mut bytes = Vec::new();
    picture
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("encodes");
    bytes.len()
}

fn main() {
    let points: Vec<EpochPoint> = (1..=40)
        .map(|epoch| EpochPoint {
            epoch,
            train_loss: 0.5 / epoch as f64,
            valid_loss: Some(0.1 / epoch as f64),
            train_accuracy: 1.0 - 0.1 / epoch as f64,
            valid_accuracy: Some(1.0 - 0.02 / epoch as f64),
            learning_rate: Some(1e-3 / epoch as f64),
        })
        .collect();
    let matrix = [[7u64; 10]; 10];
    let wrong: Vec<Mistake> = (0..100)
        .map(|i| Mistake {
            image: [(i * 2) as u8; 784],
            truth: 1,
            predicted: 7,
            probability: 0.5,
        })
        .collect();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!("{cpu}; median of 15 after one warm-up, drawing and PNG encoding\n");
    println!("| picture | ms |");
    println!("|---|---:|");
    type Draw<'a> = Box<dyn Fn() + 'a>;
    let rows: [(&str, Draw); 3] = [
        (
            "curves.png, 40 epochs",
            Box::new(|| {
                std::hint::black_box(png(&curves("bench", &points).unwrap()));
            }),
        ),
        (
            "confusion.png",
            Box::new(|| {
                std::hint::black_box(png(&confusion("bench", &matrix).unwrap()));
            }),
        ),
        (
            "mistakes.png, 100 digits",
            Box::new(|| {
                std::hint::black_box(png(&mistakes("bench", &wrong, 10_000).unwrap()));
            }),
        ),
    ];
    for (name, run) in rows {
        println!("| {name} | {:.1} |", median_ms(&run));
    }
}
