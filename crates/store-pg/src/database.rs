//! [`PgStore`] as a whole [`Database`]: every repository is the store itself, as on SQLite.

use wasmhook_store::repo::{
    BlockRepo, CallbackRepo, Database, DocRepo, ExecutionRepo, KvRepo, ReplayJobRepo, SealingRepo, SecretRepo,
    TenancyRepo, WebhookRepo,
};

use crate::PgStore;

impl Database for PgStore {
    fn tenancy(&self) -> &dyn TenancyRepo {
        self
    }

    fn blocks(&self) -> &dyn BlockRepo {
        self
    }

    fn docs(&self) -> &dyn DocRepo {
        self
    }

    fn webhooks(&self) -> &dyn WebhookRepo {
        self
    }

    fn executions(&self) -> &dyn ExecutionRepo {
        self
    }

    fn replay_jobs(&self) -> &dyn ReplayJobRepo {
        self
    }

    fn sealing(&self) -> &dyn SealingRepo {
        self
    }

    fn secrets(&self) -> &dyn SecretRepo {
        self
    }

    fn kv(&self) -> &dyn KvRepo {
        self
    }

    fn callbacks(&self) -> &dyn CallbackRepo {
        self
    }
}
