//! The knowledge base (filled in below).
pub const DEFAULT_MIN_SCORE: f64 = 4.0;

pub fn cli(_path: &std::path::Path, _cfg: crate::config::Config, _cmd: crate::cli::KbCmd) -> anyhow::Result<()> {
    anyhow::bail!("kb: not yet")
}
