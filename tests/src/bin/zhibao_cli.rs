//! The `zhibao` command line, built inside the test package so integration
//! tests can start it as a child process (`env!("CARGO_BIN_EXE_zhibao-cli")`).

fn main() -> std::process::ExitCode {
    zhibao_node::cli::main()
}
