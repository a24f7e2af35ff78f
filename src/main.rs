//! The `caplab` binary: see [`caplab::cli`].

fn main() -> std::process::ExitCode {
    caplab::cli::main()
}
