//! Minting API keys for new users. One place, used by the first start, the management API and
//! the `wasmhook admin` CLI. The key text leaves here once, to be shown once; the store only
//! ever gets its hash.

use super::keys;
use wasmhook_domain::ids::UserId;
use wasmhook_store::repo::NewUserKey;
use wasmhook_store::tenancy::KeyScope;

/// A key for a new user `user_name`: what the store keeps, and the key text to show.
pub fn new_user_key(user_name: &str, scope: KeyScope, label: Option<&str>) -> (NewUserKey, String) {
    let user_id = UserId::new_v4();
    let key = keys::generate(user_id);
    let new = NewUserKey {
        user_id,
        user_name: user_name.to_owned(),
        hash: key.hash,
        hint: key.hint,
        scope,
        label: label.map(str::to_owned),
    };
    (new, key.text)
}

/// The first admin of a new team.
pub fn team_admin_key() -> (NewUserKey, String) {
    new_user_key("admin", KeyScope::Admin, Some("team admin"))
}
