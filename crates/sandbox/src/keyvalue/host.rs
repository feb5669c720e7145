//! The `wasi:keyvalue` host functions over a run's [`KvAccess`](super::KvAccess).

use wasmtime::component::{HasSelf, Linker, Resource};

use super::{KvError, MAX_KEYS_PER_CALL, check_bucket, check_key, check_value};
use crate::host_state::RunState;

mod bindings {
    #![allow(missing_docs, missing_debug_implementations, clippy::all)]
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "wasi:keyvalue/imports@0.2.0-draft2",
        imports: { default: async },
        with: {
            "wasi:keyvalue/store.bucket": super::BucketHandle,
            "wasi:keyvalue/atomics.cas": super::CasHandle,
        },
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};

/// An open bucket of a run.
#[derive(Debug)]
pub struct BucketHandle {
    name: String,
}

/// A compare-and-swap in progress: the key, and the value and version it saw.
#[derive(Debug)]
pub struct CasHandle {
    bucket: String,
    key: String,
    seen: Option<super::Versioned>,
}

pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    bindings::Imports::add_to_linker::<RunState, HasSelf<RunState>>(linker, |state| state)
}

fn other(message: impl Into<String>) -> store::Error {
    store::Error::Other(message.into())
}

impl From<KvError> for store::Error {
    fn from(error: KvError) -> Self {
        match error {
            KvError::AccessDenied => Self::AccessDenied,
            KvError::Other(message) => Self::Other(message),
        }
    }
}

impl RunState {
    fn bucket_name(&self, bucket: &Resource<BucketHandle>) -> Result<String, store::Error> {
        self.table.get(bucket).map(|b| b.name.clone()).map_err(|e| other(e.to_string()))
    }

    fn kv(&self) -> Result<std::sync::Arc<dyn super::KeyValue>, store::Error> {
        self.kv.as_ref().map(|access| std::sync::Arc::clone(&access.store)).ok_or(store::Error::AccessDenied)
    }
}

fn key_ok(key: &str) -> Result<(), store::Error> {
    check_key(key).map_err(other)
}

impl store::Host for RunState {
    async fn open(&mut self, identifier: String) -> Result<Resource<BucketHandle>, store::Error> {
        let name = if identifier.is_empty() { "default".to_owned() } else { identifier };
        check_bucket(&name).map_err(other)?;
        if !self.kv.as_ref().is_some_and(|access| access.may_open(&name)) {
            return Err(store::Error::AccessDenied);
        }
        self.table.push(BucketHandle { name }).map_err(|e| other(e.to_string()))
    }
}

impl store::HostBucket for RunState {
    async fn get(&mut self, bucket: Resource<BucketHandle>, key: String) -> Result<Option<Vec<u8>>, store::Error> {
        key_ok(&key)?;
        let name = self.bucket_name(&bucket)?;
        Ok(self.kv()?.get(&name, &key).await?.map(|v| v.value))
    }

    async fn set(&mut self, bucket: Resource<BucketHandle>, key: String, value: Vec<u8>) -> Result<(), store::Error> {
        key_ok(&key)?;
        check_value(&value).map_err(other)?;
        let name = self.bucket_name(&bucket)?;
        self.kv()?.put(&name, &key, value, None).await?;
        Ok(())
    }

    async fn delete(&mut self, bucket: Resource<BucketHandle>, key: String) -> Result<(), store::Error> {
        key_ok(&key)?;
        let name = self.bucket_name(&bucket)?;
        Ok(self.kv()?.delete(&name, &key).await?)
    }

    async fn exists(&mut self, bucket: Resource<BucketHandle>, key: String) -> Result<bool, store::Error> {
        key_ok(&key)?;
        let name = self.bucket_name(&bucket)?;
        Ok(self.kv()?.get(&name, &key).await?.is_some())
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<BucketHandle>,
        cursor: Option<String>,
    ) -> Result<store::KeyResponse, store::Error> {
        let name = self.bucket_name(&bucket)?;
        let keys = self.kv()?.keys(&name, cursor, MAX_KEYS_PER_CALL).await?;
        let cursor = (keys.len() == MAX_KEYS_PER_CALL).then(|| keys.last().cloned()).flatten();
        Ok(store::KeyResponse { keys, cursor })
    }

    async fn drop(&mut self, bucket: Resource<BucketHandle>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for RunState {
    async fn increment(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
        delta: i64,
    ) -> Result<i64, store::Error> {
        key_ok(&key)?;
        let name = self.bucket_name(&bucket)?;
        Ok(self.kv()?.increment(&name, &key, delta).await?)
    }

    async fn swap(&mut self, cas: Resource<CasHandle>, value: Vec<u8>) -> Result<(), atomics::CasError> {
        let store_error = atomics::CasError::StoreError;
        check_value(&value).map_err(|e| store_error(other(e)))?;
        let handle = self.table.delete(cas).map_err(|e| store_error(other(e.to_string())))?;
        let kv = self.kv().map_err(store_error)?;
        let expected = Some(handle.seen.as_ref().map(|seen| seen.version));
        if kv.put(&handle.bucket, &handle.key, value, expected).await.map_err(|e| store_error(e.into()))? {
            return Ok(());
        }
        // Changed since the handle was made: a fresh handle over the current value to retry with.
        let seen = kv.get(&handle.bucket, &handle.key).await.map_err(|e| store_error(e.into()))?;
        let fresh = self
            .table
            .push(CasHandle { bucket: handle.bucket, key: handle.key, seen })
            .map_err(|e| store_error(other(e.to_string())))?;
        Err(atomics::CasError::CasFailed(fresh))
    }
}

impl atomics::HostCas for RunState {
    async fn new(&mut self, bucket: Resource<BucketHandle>, key: String) -> Result<Resource<CasHandle>, store::Error> {
        key_ok(&key)?;
        let name = self.bucket_name(&bucket)?;
        let seen = self.kv()?.get(&name, &key).await?;
        self.table.push(CasHandle { bucket: name, key, seen }).map_err(|e| other(e.to_string()))
    }

    async fn current(&mut self, cas: Resource<CasHandle>) -> Result<Option<Vec<u8>>, store::Error> {
        let handle = self.table.get(&cas).map_err(|e| other(e.to_string()))?;
        Ok(handle.seen.as_ref().map(|seen| seen.value.clone()))
    }

    async fn drop(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for RunState {
    async fn get_many(
        &mut self,
        bucket: Resource<BucketHandle>,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, store::Error> {
        if keys.len() > MAX_KEYS_PER_CALL {
            return Err(other(format!("at most {MAX_KEYS_PER_CALL} keys per call")));
        }
        let name = self.bucket_name(&bucket)?;
        let kv = self.kv()?;
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            key_ok(&key)?;
            let value = kv.get(&name, &key).await?.map(|v| v.value);
            found.push((key, value));
        }
        Ok(found)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<BucketHandle>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), store::Error> {
        if key_values.len() > MAX_KEYS_PER_CALL {
            return Err(other(format!("at most {MAX_KEYS_PER_CALL} keys per call")));
        }
        let name = self.bucket_name(&bucket)?;
        let kv = self.kv()?;
        for (key, value) in key_values {
            key_ok(&key)?;
            check_value(&value).map_err(other)?;
            kv.put(&name, &key, value, None).await?;
        }
        Ok(())
    }

    async fn delete_many(&mut self, bucket: Resource<BucketHandle>, keys: Vec<String>) -> Result<(), store::Error> {
        if keys.len() > MAX_KEYS_PER_CALL {
            return Err(other(format!("at most {MAX_KEYS_PER_CALL} keys per call")));
        }
        let name = self.bucket_name(&bucket)?;
        let kv = self.kv()?;
        for key in keys {
            key_ok(&key)?;
            kv.delete(&name, &key).await?;
        }
        Ok(())
    }
}
