//! The prompt's commands: what a person types at a peer, and what the scenario sends it.

use deltacrdt::{Edit, ReplicaId, Stamp, Timestamp};

/// One parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Command {
    /// `inc PATH [N]` ([`Edit::Add`]), `add PATH VALUE` ([`Edit::Insert`]), `set PATH TEXT`
    /// ([`Edit::Write`]; TEXT may be quoted), parsed once into the document's own edit.
    Edit {
        /// Slash-separated path.
        path: String,
        /// The edit. A write's stamp is [`UNSTAMPED`]: the replica's clock stamps it when
        /// it is applied (`board::apply_command`).
        edit: Edit,
    },
    /// Print the document.
    Show,
    /// Print the counters.
    Stats,
    /// List the peers with an open session.
    Peers,
    /// Keep a connection to an address (`host:port` or `ws://…`).
    Connect(String),
    /// Refuse these replica ids (partition).
    Block(Vec<String>),
    /// Stop syncing with these replica ids (a peer that died for good).
    Forget(Vec<String>),
    /// Accept every peer again (heal).
    UnblockAll,
    /// Make `count` random board edits, one every `interval_ms`.
    RandomEdits {
        /// How many.
        count: u64,
        /// Milliseconds between two.
        interval_ms: u64,
    },
    /// The final report, as JSON (control mode).
    Report,
    /// Stop the peer.
    Quit,
    /// The command list.
    Help,
    /// An empty line.
    Nothing,
}

/// The stamp of a parsed, not yet applied, register write (the lowest there is).
pub(crate) const UNSTAMPED: Stamp = Stamp {
    time: Timestamp::from_u64(0),
    replica: ReplicaId::from_u128(0),
};

/// Parses one line.
///
/// # Errors
/// A message saying what is wrong with the line.
pub(crate) fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let (first, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let tail = tail.trim();
    let need = |what: &str| format!("{word} needs {what}");
    Ok(match word {
        "" => Command::Nothing,
        "inc" | "add" | "set" => {
            if first.is_empty() {
                return Err(need("a path"));
            }
            if word != "inc" && tail.is_empty() {
                return Err(need("a value"));
            }
            let arg = tail
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(tail);
            let edit = match word {
                "inc" if arg.is_empty() => Edit::Add(1),
                "inc" => Edit::Add(arg.parse().map_err(|_| need("a whole number"))?),
                "add" => Edit::Insert(arg.into()),
                _ => Edit::Write(UNSTAMPED, arg.into()),
            };
            Command::Edit {
                path: first.to_string(),
                edit,
            }
        }
        "show" => Command::Show,
        "stats" => Command::Stats,
        "peers" => Command::Peers,
        "connect" if !first.is_empty() => Command::Connect(first.to_string()),
        "block" if !first.is_empty() => {
            Command::Block(rest.split_whitespace().map(str::to_string).collect())
        }
        "forget" if !first.is_empty() => {
            Command::Forget(rest.split_whitespace().map(str::to_string).collect())
        }
        "unblock-all" => Command::UnblockAll,
        "edit" => Command::RandomEdits {
            count: first.parse().map_err(|_| need("a count"))?,
            interval_ms: if tail.is_empty() {
                0
            } else {
                tail.parse().map_err(|_| need("an interval in ms"))?
            },
        },
        "report" => Command::Report,
        "quit" | "exit" => Command::Quit,
        "help" | "?" => Command::Help,
        other => return Err(format!("unknown command {other:?} (try help)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_prompt() {
        assert_eq!(
            parse(r#"set title "Ship the demo""#),
            Ok(Command::Edit {
                path: "title".into(),
                edit: Edit::Write(UNSTAMPED, "Ship the demo".into())
            })
        );
        assert_eq!(
            parse("inc likes"),
            Ok(Command::Edit {
                path: "likes".into(),
                edit: Edit::Add(1)
            })
        );
        assert_eq!(
            parse("inc cards/a/votes -2").map(|c| matches!(
                c,
                Command::Edit {
                    edit: Edit::Add(-2),
                    ..
                }
            )),
            Ok(true)
        );
        assert!(parse("inc likes lots").is_err());
        assert_eq!(
            parse("add tags urgent"),
            Ok(Command::Edit {
                path: "tags".into(),
                edit: Edit::Insert("urgent".into())
            })
        );
        assert!(parse("add tags").is_err());
        assert_eq!(
            parse("edit 5 10"),
            Ok(Command::RandomEdits {
                count: 5,
                interval_ms: 10
            })
        );
        assert!(parse("frobnicate").is_err());
    }
}
