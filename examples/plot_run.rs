//! Renders the charts and report of a run directory (development aid):
//! `cargo run --release --example plot_run -- RUN_DIR`.
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("RUN_DIR"));
    let t = std::time::Instant::now();
    let run = caplab::analysis::analyse_run(&dir, &Default::default()).expect("analyse");
    let t1 = t.elapsed();
    let files = caplab::report::report_run(&dir, &run).expect("report");
    println!(
        "analysis {:?}, report {:?}, {} files",
        t1,
        t.elapsed() - t1,
        files.len()
    );
}
