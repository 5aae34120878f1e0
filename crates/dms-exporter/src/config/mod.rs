//! Configuration: one YAML file, the official SDK's environment variables, and credential
//! files (systemd `LoadCredential=`). Every problem is reported with the file, line and field.

mod credentials;
mod load;
mod locate;
mod problem;
mod redact;
mod sharding;
mod types;
mod validate;

pub use crate::files::read_capped;
pub use credentials::{
    CredentialSource, CredentialsError, ProcessEnv, check_all_credential_files,
    check_credential_files, credential_files, resolve_all, resolve_credentials,
};
pub use load::{ConfigError, Problem, field_position, load_file, load_yaml_file, parse_str};
pub use sharding::{ShardFlagError, ShardFlags, apply_shard_flags};
pub use types::*;
pub use validate::{bcrypt_hash_problem, warnings};
