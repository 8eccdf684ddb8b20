//! Deploy settings: `flowc.toml` (`[aws]`, `[deploy]`), overridden by `FLOWC_*` environment
//! variables, overridden by command-line flags.
//!
//! | key | flowc.toml | environment | flag |
//! |---|---|---|---|
//! | region | `[aws] region` | `FLOWC_REGION` (else the AWS chain: `AWS_REGION`, profile) | `--region` |
//! | profile | `[aws] profile` | `FLOWC_PROFILE` (else `AWS_PROFILE`) | `--profile` |
//! | endpoint URL | `[aws] endpoint_url` | `FLOWC_ENDPOINT_URL` (else `AWS_ENDPOINT_URL`) | `--endpoint-url` |
//! | datastore | `[deploy] datastore` | `FLOWC_DATASTORE` | `--datastore` |
//! | job queue | `[deploy] job_queue` | `FLOWC_JOB_QUEUE` | `--job-queue` |
//! | job definition | `[deploy] job_definition` | `FLOWC_JOB_DEFINITION` | `--job-definition` |
//! | job role | `[deploy] job_role` | `FLOWC_JOB_ROLE` | `--job-role` |
//! | state machine role | `[deploy] state_machine_role` | `FLOWC_STATE_MACHINE_ROLE` | `--state-machine-role` |
//! | events role | `[deploy] events_role` | `FLOWC_EVENTS_ROLE` | `--events-role` |
//! | image | `[deploy] image` | `FLOWC_IMAGE` | `--image` |
//! | alias | `[deploy] alias` (default `live`) | `FLOWC_ALIAS` | `--alias` |

use super::{Error, Result};
use crate::options::{AwsConfig, ConfigFile, DeployConfig};
use std::path::{Path, PathBuf};

/// Default alias name (issue 5: "alias name (default `live`)").
pub const DEFAULT_ALIAS: &str = crate::backend::eventbridge::DEFAULT_ALIAS;

/// The resolved settings of one command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// `[aws]` values (region, profile, endpoint URL).
    pub aws: AwsConfig,
    /// `[deploy]` values.
    pub deploy: DeployConfig,
    /// Where the config file was read from, for error messages (None: no file).
    pub file: Option<PathBuf>,
}

/// One settable value, by its `flowc.toml` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `[aws] region`.
    Region,
    /// `[aws] profile`.
    Profile,
    /// `[aws] endpoint_url`.
    EndpointUrl,
    /// `[deploy] datastore`.
    Datastore,
    /// `[deploy] job_queue`.
    JobQueue,
    /// `[deploy] job_definition`.
    JobDefinition,
    /// `[deploy] job_role`.
    JobRole,
    /// `[deploy] state_machine_role`.
    StateMachineRole,
    /// `[deploy] events_role`.
    EventsRole,
    /// `[deploy] image`.
    Image,
    /// `[deploy] alias`.
    Alias,
}

impl Key {
    /// Every key, in table order.
    pub const ALL: [Key; 11] = [
        Key::Region,
        Key::Profile,
        Key::EndpointUrl,
        Key::Datastore,
        Key::JobQueue,
        Key::JobDefinition,
        Key::JobRole,
        Key::StateMachineRole,
        Key::EventsRole,
        Key::Image,
        Key::Alias,
    ];

    /// `(table, key)` in `flowc.toml`.
    pub fn toml(self) -> (&'static str, &'static str) {
        match self {
            Key::Region => ("aws", "region"),
            Key::Profile => ("aws", "profile"),
            Key::EndpointUrl => ("aws", "endpoint_url"),
            Key::Datastore => ("deploy", "datastore"),
            Key::JobQueue => ("deploy", "job_queue"),
            Key::JobDefinition => ("deploy", "job_definition"),
            Key::JobRole => ("deploy", "job_role"),
            Key::StateMachineRole => ("deploy", "state_machine_role"),
            Key::EventsRole => ("deploy", "events_role"),
            Key::Image => ("deploy", "image"),
            Key::Alias => ("deploy", "alias"),
        }
    }

    /// The environment variable: `FLOWC_` + the key in upper case.
    pub fn env(self) -> String {
        format!("FLOWC_{}", self.toml().1.to_ascii_uppercase())
    }

    /// The command-line flag: `--` + the key with `-` for `_`.
    pub fn flag(self) -> String {
        format!("--{}", self.toml().1.replace('_', "-"))
    }
}

impl Settings {
    /// Reads `config` (when given, it must exist) or else `flowc.toml` beside `flow` (when
    /// present), then applies `FLOWC_*` variables from `env` and finally `flags`.
    ///
    /// Errors: [`Error::Config`] when the file cannot be read or is not valid (E0602 text).
    pub fn load(
        flow: &Path,
        config: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
        flags: &[(Key, Option<String>)],
    ) -> Result<Settings> {
        let mut s = Settings::default();
        let path = match config {
            Some(p) => Some(p.to_path_buf()),
            None => {
                let beside = flow.parent().unwrap_or(Path::new(".")).join("flowc.toml");
                beside.is_file().then_some(beside)
            }
        };
        if let Some(p) = path {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| Error::Config(format!("cannot read {}: {e}", p.display())))?;
            let file = ConfigFile::parse(&text)
                .map_err(|d| Error::Config(format!("{}: {}", p.display(), d.message)))?;
            s.aws = file.aws;
            s.deploy = file.deploy;
            s.file = Some(p);
        }
        for key in Key::ALL {
            if let Some(v) = env(&key.env()).filter(|v| !v.is_empty()) {
                *s.slot(key) = Some(v);
            }
        }
        for (key, value) in flags {
            if let Some(v) = value {
                *s.slot(*key) = Some(v.clone());
            }
        }
        Ok(s)
    }

    /// The value of `key`, if set anywhere.
    pub fn get(&self, key: Key) -> Option<&str> {
        self.get_ref(key)
    }

    fn get_ref(&self, key: Key) -> Option<&str> {
        let (a, d) = (&self.aws, &self.deploy);
        match key {
            Key::Region => a.region.as_deref(),
            Key::Profile => a.profile.as_deref(),
            Key::EndpointUrl => a.endpoint_url.as_deref(),
            Key::Datastore => d.datastore.as_deref(),
            Key::JobQueue => d.job_queue.as_deref(),
            Key::JobDefinition => d.job_definition.as_deref(),
            Key::JobRole => d.job_role.as_deref(),
            Key::StateMachineRole => d.state_machine_role.as_deref(),
            Key::EventsRole => d.events_role.as_deref(),
            Key::Image => d.image.as_deref(),
            Key::Alias => d.alias.as_deref(),
        }
    }

    fn slot(&mut self, key: Key) -> &mut Option<String> {
        let (a, d) = (&mut self.aws, &mut self.deploy);
        match key {
            Key::Region => &mut a.region,
            Key::Profile => &mut a.profile,
            Key::EndpointUrl => &mut a.endpoint_url,
            Key::Datastore => &mut d.datastore,
            Key::JobQueue => &mut d.job_queue,
            Key::JobDefinition => &mut d.job_definition,
            Key::JobRole => &mut d.job_role,
            Key::StateMachineRole => &mut d.state_machine_role,
            Key::EventsRole => &mut d.events_role,
            Key::Image => &mut d.image,
            Key::Alias => &mut d.alias,
        }
    }

    /// The value of `key`, or an error naming the key and the three places to set it.
    ///
    /// Errors: [`Error::Config`] ("missing `[deploy] job_queue`: set it in flowc.toml, with
    /// `--job-queue` or with `FLOWC_JOB_QUEUE`").
    pub fn require(&self, key: Key) -> Result<&str> {
        self.get_ref(key).ok_or_else(|| {
            let (table, name) = key.toml();
            let file = match &self.file {
                Some(p) => p.display().to_string(),
                None => "flowc.toml (beside the flow, or --config FILE)".into(),
            };
            Error::Config(format!(
                "missing `[{table}] {name}`: set it in {file}, with `{}` or with `{}`",
                key.flag(),
                key.env()
            ))
        })
    }

    /// The alias name: `[deploy] alias` or `live`.
    pub fn alias(&self) -> &str {
        self.deploy.alias.as_deref().unwrap_or(DEFAULT_ALIAS)
    }

    /// The datastore as `(bucket, prefix)`; the prefix has no leading or trailing `/`.
    ///
    /// Errors: [`Error::Config`] when missing or not `s3://bucket[/prefix]`.
    pub fn datastore(&self) -> Result<(String, String)> {
        let text = self.require(Key::Datastore)?;
        let rest = text.strip_prefix("s3://").ok_or_else(|| {
            Error::Config(format!(
                "`[deploy] datastore` must look like `s3://bucket/prefix`, not `{text}`"
            ))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::Config(format!(
                "`[deploy] datastore` `{text}` names no bucket"
            )));
        }
        Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("flowc.toml"),
            "[deploy]\njob_queue = \"file\"\nimage = \"file-image\"\nalias = \"file-alias\"\n",
        )
        .unwrap();
        let flow = dir.path().join("x.flow");
        let env = |k: &str| match k {
            "FLOWC_JOB_QUEUE" | "FLOWC_IMAGE" => Some("env".to_string()),
            _ => None,
        };
        let flags = [(Key::JobQueue, Some("flag".to_string()))];
        let s = Settings::load(&flow, None, &env, &flags).unwrap();
        assert_eq!(s.deploy.job_queue.as_deref(), Some("flag"));
        assert_eq!(s.deploy.image.as_deref(), Some("env"));
        assert_eq!(s.alias(), "file-alias");
    }

    #[test]
    fn missing_value_names_key_and_places() {
        let s = Settings::load(Path::new("/nonexistent/x.flow"), None, &no_env, &[]).unwrap();
        let e = s.require(Key::StateMachineRole).unwrap_err().to_string();
        assert!(e.contains("`[deploy] state_machine_role`"), "{e}");
        assert!(e.contains("--state-machine-role"), "{e}");
        assert!(e.contains("FLOWC_STATE_MACHINE_ROLE"), "{e}");
        assert_eq!(s.alias(), "live");
    }

    #[test]
    fn datastore_is_parsed() {
        let mut s = Settings::default();
        s.deploy.datastore = Some("s3://b/p/q/".into());
        assert_eq!(s.datastore().unwrap(), ("b".into(), "p/q".into()));
        s.deploy.datastore = Some("b/p".into());
        assert!(s.datastore().is_err());
    }

    #[test]
    fn explicit_config_must_exist() {
        let r = Settings::load(
            Path::new("x.flow"),
            Some(Path::new("/nonexistent/flowc.toml")),
            &no_env,
            &[],
        );
        assert!(matches!(r, Err(Error::Config(_))));
    }
}
