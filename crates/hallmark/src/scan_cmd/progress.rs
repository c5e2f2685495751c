//! Progress while layers are read, on stderr: one line redrawn in place on a terminal
//! (layers done, bytes read), or one plain line per finished layer otherwise, so CI logs
//! show which layer took the time.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use scan::image::source::Progress;

/// How often the terminal line is redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct Layer {
    read: u64,
    size: Option<u64>,
    done: bool,
}

#[derive(Debug)]
struct State {
    layers: BTreeMap<String, Layer>,
    drawn: Option<Instant>,
}

/// The progress display of one scan.
#[derive(Debug)]
pub struct LayerProgress {
    terminal: bool,
    state: Mutex<State>,
}

impl LayerProgress {
    /// A display that redraws in place when stderr is a terminal.
    pub fn new() -> LayerProgress {
        LayerProgress {
            terminal: std::io::stderr().is_terminal(),
            state: Mutex::new(State {
                layers: BTreeMap::new(),
                drawn: None,
            }),
        }
    }

    /// Ends the terminal line, so what follows starts on a fresh one.
    pub fn finish(&self) {
        let mut state = self.lock();
        if self.terminal && state.drawn.is_some() {
            self.draw(&mut state);
            eprintln!();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is counters only; a panic elsewhere leaves them usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn draw(&self, state: &mut State) {
        let done = state.layers.values().filter(|l| l.done).count();
        let read: u64 = state.layers.values().map(|l| l.read).sum();
        let total: u64 = state.layers.values().filter_map(|l| l.size).sum();
        let of_total = if total > 0 {
            format!(" of {}", bytes(total))
        } else {
            String::new()
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[Kreading layers: {done}/{} done, {}{of_total} read",
            state.layers.len(),
            bytes(read),
        );
        let _ = err.flush();
        state.drawn = Some(Instant::now());
    }
}

impl Progress for LayerProgress {
    fn layer_started(&self, layer: &str, size: Option<u64>) {
        let mut state = self.lock();
        state.layers.entry(layer.to_owned()).or_default().size = size;
        if self.terminal {
            self.draw(&mut state);
        }
    }

    fn layer_read(&self, layer: &str, n: u64) {
        let mut state = self.lock();
        state.layers.entry(layer.to_owned()).or_default().read += n;
        if self.terminal && state.drawn.is_none_or(|t| t.elapsed() >= REDRAW) {
            self.draw(&mut state);
        }
    }

    fn layer_finished(&self, layer: &str, cached: bool) {
        let mut state = self.lock();
        let entry = state.layers.entry(layer.to_owned()).or_default();
        entry.done = true;
        let read = entry.read;
        if self.terminal {
            self.draw(&mut state);
        } else if cached {
            eprintln!("layer {layer}: analysis cached, not read");
        } else {
            eprintln!("layer {layer}: {} read", bytes(read));
        }
    }
}

/// Bytes in binary units, one decimal.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn byte_counts() {
        for (n, text) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.5 KiB"),
            (5 << 20, "5.0 MiB"),
        ] {
            assert_eq!(bytes(n), text);
        }
    }
}
