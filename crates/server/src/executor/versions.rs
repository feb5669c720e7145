//! Adding a block version. The executor owns the sandbox, so the API never calls wasmtime: it
//! hands the uploaded bytes here, where the component is validated and precompiled before
//! anything is stored (a bad upload is a 400 that leaves nothing behind).

use bytes::Bytes;
use wasmhook_domain::ids::{BlockId, TeamId};
use wasmhook_store::blocks::{BlockVersion, StoredBlob};

use super::{ExecError, Executor};

impl Executor {
    /// Compiles `bytes` (which also proves it is a component wasmhook can run), stores them in
    /// 1 MiB writer jobs, then seals them as the block's next version, activated when asked.
    pub async fn add_version(
        &self,
        team_id: TeamId,
        block_id: BlockId,
        bytes: Bytes,
        activate: bool,
    ) -> Result<BlockVersion, ExecError> {
        let prepared = self.sandbox.prepare(&bytes).await?;
        let (digest, shape) = (prepared.digest(), prepared.shape());
        let chunks = self.store.blocks().put_wasm(digest, &bytes).await?;
        let blob = StoredBlob { digest, size: bytes.len(), chunks };
        drop(bytes);
        Ok(self.store.blocks().add_version(team_id, block_id, blob, shape, activate).await?)
    }
}
