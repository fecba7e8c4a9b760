//! `web`: a local page to draw digits for LeNet-5 to read, and a JSON API to classify images.

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use experiment::BackendKind;
use infer::ModelSource;
use infer::output::describe;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// Serve a web page where you draw a digit and watch LeNet-5 read it, with a JSON API:
/// POST /api/classify (an image file as the body), GET /api/model, GET /healthz.
///
/// Requests are logged to the error stream (RUST_LOG=warn for less). Ctrl-C stops the server
/// once the requests in progress are answered. A client too slow to send a request loses its
/// connection (see the limits below), so that silent or half-open connections cannot pile up. Exit status: 0 after Ctrl-C or SIGTERM, 1 when
/// the address cannot be listened on, 2 for a usage error or a model that cannot be loaded.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// The address to listen on; 0.0.0.0 for every network interface.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,

    /// The port to listen on; 0 for any free one.
    #[arg(long, default_value_t = 8080)]
    port: u16,

    /// The model: a model.mpk, or an artifacts directory written by train. Default: the
    /// model built into this program.
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,

    /// Where the model runs.
    #[arg(long, value_enum, default_value_t = BackendKind::Ndarray)]
    backend: BackendKind,

    /// Write the page as a static site into DIR and exit, instead of serving: the same page,
    /// its model running in the browser (onnxruntime-web, the model exported as ONNX), for any
    /// static file host. Reading uploaded image files needs the server.
    #[arg(long = "static", value_name = "DIR")]
    static_site: Option<PathBuf>,

    /// onnxruntime-web's dist directory, for --static. Default: the one
    /// `npm ci --prefix crates/web/ort` installs in this repository.
    #[arg(long, value_name = "DIR", requires = "static_site")]
    ort: Option<PathBuf>,

    /// Seconds a request's headers may take to arrive; also how long an idle kept-alive
    /// connection stays open. The connection is closed after it.
    #[arg(long, value_name = "SECONDS", default_value_t = Seconds(web::Limits::DEFAULT.header_timeout))]
    header_timeout: Seconds,

    /// Seconds an uploaded image may take to arrive once its headers have; 408 after it.
    #[arg(long, value_name = "SECONDS", default_value_t = Seconds(web::Limits::DEFAULT.body_timeout))]
    body_timeout: Seconds,

    /// The most connections open at once; more wait until one closes.
    #[arg(
        long,
        value_name = "N",
        default_value_t = web::Limits::DEFAULT.max_connections,
        value_parser = at_least_one
    )]
    max_connections: usize,
}

/// A duration given in seconds, fractions allowed (`0.5`), more than zero.
#[derive(Debug, Clone, Copy)]
struct Seconds(Duration);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let seconds: f64 = text
            .parse()
            .map_err(|_| format!("{text:?} is not a number of seconds"))?;
        match Duration::try_from_secs_f64(seconds) {
            Ok(duration) if !duration.is_zero() => Ok(Self(duration)),
            _ => Err(format!("{text} s is not a duration above zero")),
        }
    }
}

impl std::fmt::Display for Seconds {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}", self.0.as_secs_f64())
    }
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(0) | Err(_) => Err(format!("{text:?} is not a whole number above zero")),
        Ok(n) => Ok(n),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .with(log_filter())
        .init();

    let source = cli.model.map_or(ModelSource::Embedded, ModelSource::Path);
    let model = match web::Model::load(&source, cli.backend) {
        Ok(model) => model,
        Err(error) => return fail(&error, 2),
    };
    if let Some(dir) = &cli.static_site {
        let ort = cli.ort.unwrap_or_else(web::default_ort_dir);
        return match web::write_static_site(&model, dir, &ort) {
            Ok(files) => {
                println!(
                    "wrote {} files into {}: put them on any static web host, or try them with \
                     `python3 -m http.server -d {}`",
                    files.len(),
                    dir.display(),
                    dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error, 2),
        };
    }
    let listener = match web::bind(SocketAddr::new(cli.host, cli.port)).await {
        Ok(listener) => listener,
        Err(error) => return fail(&error, 1),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(source) => {
            let error = web::Error::Bind {
                addr: SocketAddr::new(cli.host, cli.port),
                source,
            };
            return fail(&error, 1);
        }
    };
    // Watching for the signals starts before the address is announced: a client that has
    // the address may send Ctrl-C at once.
    let stop = stop_signal();
    println!("{} at http://{address}/", model.description());
    let limits = web::Limits {
        header_timeout: cli.header_timeout.0,
        body_timeout: cli.body_timeout.0,
        max_connections: cli.max_connections,
    };
    match web::serve_with(listener, model, limits, stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error, 1),
    }
}

/// `RUST_LOG`'s levels (`warn`, `web=debug,tower_http=info`...), info without it.
fn log_filter() -> Targets {
    let everything_at_info = Targets::new().with_default(Level::INFO);
    match std::env::var("RUST_LOG") {
        Ok(directives) => directives.parse().unwrap_or_else(|error| {
            eprintln!("web: RUST_LOG={directives} ignored: {error}");
            everything_at_info
        }),
        Err(_) => everything_at_info,
    }
}

fn fail(error: &web::Error, code: u8) -> ExitCode {
    eprintln!("web: {}", describe(error));
    ExitCode::from(code)
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM: the binary's, since signal handlers belong to
/// the process, not to the library. The handlers are installed when this is called, not when
/// the future is first polled.
pub fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let watch = |kind: SignalKind, name: &'static str| {
        let watched = signal(kind);
        async move {
            match watched {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::warn!("cannot watch for {name}: {error}");
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    let interrupt = watch(SignalKind::interrupt(), "Ctrl-C");
    let terminate = watch(SignalKind::terminate(), "SIGTERM");
    async move {
        tokio::select! {
            () = interrupt => {}
            () = terminate => {}
        }
    }
}
