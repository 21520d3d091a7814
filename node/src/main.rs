//! `zhibao`: one node of the federation. All of it is in the library; see `cli.rs`.

fn main() -> std::process::ExitCode {
    zhibao_node::cli::main()
}
