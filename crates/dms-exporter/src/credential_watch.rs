//! Watches the credential files: a rotated secret is picked up without a signal, and a key
//! the gateway rejected is tried again at once (the budgets probe new credentials at once).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::locks::lock;

/// How often the files are looked at (their metadata only).
pub const POLL: Duration = Duration::from_secs(10);

/// What identifies one version of a file without reading it: length and modification time
/// (`None` while it does not exist).
type Fingerprint = Vec<(PathBuf, Option<(u64, Option<SystemTime>)>)>;

fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    paths
        .iter()
        .map(|path| {
            let seen = std::fs::metadata(path)
                .ok()
                .map(|meta| (meta.len(), meta.modified().ok()));
            (path.clone(), seen)
        })
        .collect()
}

/// The files to watch; replaced at every successful (re)load.
#[derive(Debug, Clone, Default)]
pub struct Watched(Arc<Mutex<Vec<PathBuf>>>);

impl Watched {
    pub fn set(&self, paths: Vec<PathBuf>) {
        *lock(&self.0) = paths;
    }

    fn get(&self) -> Vec<PathBuf> {
        lock(&self.0).clone()
    }
}

/// Sends on `changed` whenever a watched file changes, until `shutdown`.
pub async fn watch(watched: Watched, changed: mpsc::Sender<()>, shutdown: CancellationToken) {
    let mut last = fingerprint(&watched.get());
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL) => {}
        }
        let paths = watched.get();
        let now = fingerprint(&paths);
        // Only a change of the same list counts: a reload that changed the list is no
        // change of a file.
        let same_files = last.iter().map(|(p, _)| p).eq(now.iter().map(|(p, _)| p));
        if same_files && now != last {
            tracing::info!("a credential file changed; reloading");
            if changed.send(()).await.is_err() {
                return;
            }
        }
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_rewritten_credential_file_asks_for_a_reload() {
        let dir = std::env::temp_dir().join(format!("dms-credential-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let secret = dir.join("secret_key");
        std::fs::write(&secret, "old-secret").unwrap_or_else(|e| panic!("{e}"));
        let watched = Watched::default();
        watched.set(vec![secret.clone(), dir.join("absent")]);
        let (sender, mut changed) = mpsc::channel(1);
        let shutdown = CancellationToken::new();
        tokio::spawn(watch(watched, sender, shutdown.clone()));
        tokio::time::sleep(POLL * 3).await;
        assert!(changed.try_recv().is_err(), "nothing changed yet");
        std::fs::write(&secret, "the-new-longer-secret").unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(POLL + Duration::from_secs(1)).await;
        assert!(changed.try_recv().is_ok(), "the rewrite was seen");
        tokio::time::sleep(POLL * 2).await;
        assert!(changed.try_recv().is_err(), "once");
        shutdown.cancel();
        std::fs::remove_dir_all(&dir).ok();
    }
}
