//! The daemon's streamed JSON messages (build steps, pull progress, errors), one per line.

use serde::Deserialize;

/// One message of a build or pull stream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub(super) struct Message {
    /// Build output text (a step, a command's output), newline included.
    #[serde(default)]
    pub stream: Option<String>,
    /// Pull status (`Pulling fs layer`, `Digest: sha256:…`).
    #[serde(default)]
    pub status: Option<String>,
    /// The layer or image a status is about.
    #[serde(default)]
    pub id: Option<String>,
    /// A failure: the stream's HTTP status is 200 even when the build fails.
    #[serde(default)]
    pub error: Option<String>,
    /// Extra data; a build reports the image's ID here.
    #[serde(default)]
    pub aux: Option<Aux>,
}

/// A build's auxiliary message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub(super) struct Aux {
    /// The built image's ID, `sha256:<config digest>`.
    #[serde(rename = "ID", default)]
    pub id: Option<String>,
}

impl Message {
    /// The text a log keeps for this message, if any: build output as it is, pull statuses as
    /// one line each, errors prefixed.
    pub(super) fn log_text(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(format!("error: {}\n", error.trim_end()));
        }
        if let Some(stream) = &self.stream {
            return Some(stream.clone());
        }
        let status = self.status.as_deref()?;
        Some(match &self.id {
            Some(id) => format!("{id}: {status}\n"),
            None => format!("{status}\n"),
        })
    }
}

/// Splits a byte stream into JSON lines; chunks may cut lines anywhere.
#[derive(Debug, Default)]
pub(super) struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// Adds a chunk and returns the messages it completed. A line that is not a message is
    /// kept as build output, so nothing the daemon said is lost from the log.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Vec<Message> {
        self.pending.extend_from_slice(chunk);
        let mut messages = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            messages.extend(parse_line(&line));
        }
        messages
    }

    /// The message left when the stream ends without a final newline.
    pub(super) fn finish(self) -> Option<Message> {
        parse_line(&self.pending)
    }
}

fn parse_line(line: &[u8]) -> Option<Message> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(serde_json::from_str(text).unwrap_or_else(|_| Message {
        stream: Some(format!("{text}\n")),
        ..Message::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_anywhere_parse_into_messages() {
        let stream = concat!(
            "{\"stream\":\"Step 1/2 : FROM debian:bookworm\\n\"}\r\n",
            "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"abc\"}\r\n",
            "{\"aux\":{\"ID\":\"sha256:0123\"}}\n",
            "not json\n",
            "{\"errorDetail\":{\"code\":1,\"message\":\"boom\"},\"error\":\"boom\"}"
        );
        for cut in [1, 7, 40, stream.len()] {
            let mut lines = Lines::default();
            let mut messages = Vec::new();
            for chunk in stream.as_bytes().chunks(cut) {
                messages.extend(lines.push(chunk));
            }
            messages.extend(lines.finish());
            let texts: Vec<Option<String>> = messages.iter().map(Message::log_text).collect();
            assert_eq!(
                texts,
                [
                    Some("Step 1/2 : FROM debian:bookworm\n".to_owned()),
                    Some("abc: Pull complete\n".to_owned()),
                    None,
                    Some("not json\n".to_owned()),
                    Some("error: boom\n".to_owned()),
                ],
                "chunks of {cut}"
            );
            assert_eq!(
                messages[2].aux.as_ref().unwrap().id.as_deref(),
                Some("sha256:0123")
            );
        }
    }
}
