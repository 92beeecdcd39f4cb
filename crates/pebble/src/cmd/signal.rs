//! `pebble signal`.

use clap::Args;

use crate::ctx::Ctx;
use crate::error::CliError;

/// Arguments of `pebble signal`.
#[derive(Debug, Args)]
pub struct SignalArgs {
    /// Signal name, uppercase, with or without the `SIG` prefix (e.g. `HUP`).
    #[arg(value_name = "SIGNAL", required = true)]
    pub signal: String,
    /// Services to signal.
    #[arg(value_name = "service", required = true, num_args = 1..)]
    pub services: Vec<String>,
}

/// The `SIG`-prefixed name sent to the API, or the uppercase error.
pub fn signal_name(sig: &str) -> Result<String, CliError> {
    if sig.to_uppercase() != sig {
        return Err(CliError::msg(
            "signal name must be uppercase, for example HUP",
        ));
    }
    Ok(if sig.starts_with("SIG") {
        sig.to_string()
    } else {
        format!("SIG{sig}")
    })
}

/// Sends the signal; silent on success.
pub async fn run(ctx: &Ctx, args: SignalArgs) -> Result<(), CliError> {
    let sig = signal_name(&args.signal)?;
    ctx.client.send_signal(&sig, &args.services).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names() {
        assert_eq!(signal_name("HUP").unwrap(), "SIGHUP");
        assert_eq!(signal_name("SIGTERM").unwrap(), "SIGTERM");
        assert_eq!(
            signal_name("hup").unwrap_err().to_string(),
            "signal name must be uppercase, for example HUP"
        );
    }
}
