//! Child process of the federation crash test: runs a city node from its
//! config, queues registry changes (durably), prints `queued`, and waits to
//! be killed.

use std::io::Write;

use zhibao_node::clock::Timestamp;
use zhibao_node::config::NodeConfig;
use zhibao_node::node::NodeListeners;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    testkit::install_crypto_provider();
    let mut arguments = std::env::args().skip(1);
    let usage = "usage: queueing-city CONFIG FIRST COUNT";
    let config_path = arguments.next().ok_or(usage)?;
    let first: u32 = arguments.next().ok_or(usage)?.parse()?;
    let count: u32 = arguments.next().ok_or(usage)?.parse()?;
    let config = NodeConfig::load(std::path::Path::new(&config_path))?;
    // The same city ran in the test process a moment ago: its ports and its
    // data folder's lock are released shortly after its stop, so retry for a while.
    let started = std::time::Instant::now();
    let node = loop {
        let attempt = match NodeListeners::bind(&config) {
            Ok(listeners) => {
                zhibao_node::node::start(
                    config.clone(),
                    listeners,
                    Timestamp::now_from_system_clock(),
                )
                .await
            }
            Err(error) => Err(error),
        };
        match attempt {
            Ok(node) => break node,
            Err(error) if started.elapsed() < std::time::Duration::from_secs(20) => {
                eprintln!("queueing-city: not yet: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error.into()),
        }
    };
    testkit::queue_registry_changes(&node, "320102", first, count).await;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "queued")?;
    stdout.flush()?;
    drop(stdout);
    std::future::pending::<()>().await;
    Ok(())
}
