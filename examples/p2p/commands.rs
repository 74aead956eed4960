//! The prompt's commands: what a person types at a peer, and what the scenario sends it.

/// One parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `inc PATH [N]`, `add PATH VALUE`, `set PATH TEXT` (TEXT may be quoted).
    Edit {
        /// `inc`, `add` or `set`.
        verb: &'static str,
        /// Slash-separated path.
        path: String,
        /// The amount, element or text.
        arg: String,
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
            let verb = match word {
                "inc" => "inc",
                "add" => "add",
                _ => "set",
            };
            if verb != "inc" && tail.is_empty() {
                return Err(need("a value"));
            }
            let arg = tail
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(tail);
            Command::Edit {
                verb,
                path: first.to_string(),
                arg: arg.to_string(),
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
                verb: "set",
                path: "title".into(),
                arg: "Ship the demo".into()
            })
        );
        assert_eq!(
            parse("inc likes"),
            Ok(Command::Edit {
                verb: "inc",
                path: "likes".into(),
                arg: String::new()
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
