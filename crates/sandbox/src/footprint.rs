//! What one instance of a component takes from the pooling allocator: core instances, linear
//! memories and tables.
//!
//! The pool is sized in **run slots**: `max_concurrent_runs` × (8 core instances, 2 memories,
//! 8 tables), which a Rust block (2–3 core instances, 1 memory, 1 table) fits in once. Standard
//! toolchains are bigger — a componentize-py component instantiates 14 core modules — so a run
//! takes as many slots as its footprint needs, counted once per block version at upload. Runs
//! then wait for slots and never fail for an exhausted pool, and one large component cannot
//! take the slots other tenants' runs were promised. Components over the per-component maxima
//! are refused at upload with the numbers.
//!
//! wasmtime does not expose a component's core-instance count, so it is read from the bytes
//! (with `wasmparser`, wasmtime's own parser) and kept beside the compiled artifact, so that a
//! restart does not need the bytes.

use serde::{Deserialize, Serialize};
use wasmparser::{ComponentAlias, ComponentExternalKind, ComponentOuterAliasKind, ComponentTypeRef, Encoding};
use wasmparser::{Instance, Parser, Payload};

use super::SandboxError;

/// Core instances one run slot holds in the pool.
pub(crate) const CORE_INSTANCES_PER_SLOT: u32 = 8;
/// Linear memories one run slot holds.
pub(crate) const MEMORIES_PER_SLOT: u32 = 2;
/// Tables one run slot holds.
pub(crate) const TABLES_PER_SLOT: u32 = 8;

/// The largest component accepted (per instance): about twice the core instances of the
/// biggest standard toolchain measured (componentize-py 0.25: 14 core instances, 1 memory,
/// 2 tables; ComponentizeJS 0.22: 4, 1, 2) and room for a few memories and tables, so a
/// legitimate guest fits and a pool-draining one is refused at upload.
pub(crate) const MAX: Footprint = Footprint { core_instances: 32, memories: 4, tables: 16 };

/// Pool resources one instance of a component takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footprint {
    /// Core module instantiations.
    pub core_instances: u32,
    /// Linear memories defined by those instances (imported ones are shared, not allocated).
    pub memories: u32,
    /// Tables defined by those instances.
    pub tables: u32,
}

/// Per-module counts of the current component, and the running totals.
#[derive(Default)]
struct Frame {
    /// (memories, tables) defined by each core module in the module index space; `None` for
    /// a module whose contents are not known here (imported or aliased from an instance).
    modules: Vec<Option<(u32, u32)>>,
    /// Counts of the core module being read, when the frame is a module.
    module: Option<(u32, u32)>,
    total: Footprint,
}

impl Footprint {
    /// Counts what instantiating `wasm` (a component) takes. A nested component counts as
    /// instantiated once; a module of unknown contents as defining one memory and one table.
    pub(crate) fn of(wasm: &[u8]) -> Result<Self, SandboxError> {
        let invalid = |e: wasmparser::BinaryReaderError| SandboxError::InvalidComponent(e.to_string());
        let mut stack: Vec<Frame> = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(invalid)? {
                Payload::Version { encoding: Encoding::Module, .. } => {
                    stack.push(Frame { module: Some((0, 0)), ..Frame::default() })
                }
                Payload::Version { encoding: Encoding::Component, .. } => stack.push(Frame::default()),
                Payload::MemorySection(reader) => add_to_module(&mut stack, reader.count(), 0),
                Payload::TableSection(reader) => add_to_module(&mut stack, 0, reader.count()),
                Payload::InstanceSection(reader) => {
                    let frame = stack.last_mut().ok_or_else(|| malformed("an instance section"))?;
                    for instance in reader {
                        if let Instance::Instantiate { module_index, .. } = instance.map_err(invalid)? {
                            let (memories, tables) =
                                frame.modules.get(module_index as usize).copied().flatten().unwrap_or((1, 1));
                            frame.total.add(Footprint { core_instances: 1, memories, tables });
                        }
                    }
                }
                Payload::ComponentAliasSection(reader) => {
                    let frame = stack.last_mut().ok_or_else(|| malformed("an alias section"))?;
                    for alias in reader {
                        let adds_module = matches!(
                            alias.map_err(invalid)?,
                            ComponentAlias::Outer { kind: ComponentOuterAliasKind::CoreModule, .. }
                                | ComponentAlias::InstanceExport { kind: ComponentExternalKind::Module, .. }
                        );
                        if adds_module {
                            frame.modules.push(None);
                        }
                    }
                }
                Payload::ComponentImportSection(reader) => {
                    let frame = stack.last_mut().ok_or_else(|| malformed("an import section"))?;
                    for import in reader {
                        if matches!(import.map_err(invalid)?.ty, ComponentTypeRef::Module(_)) {
                            frame.modules.push(None);
                        }
                    }
                }
                Payload::End(_) => {
                    let done = stack.pop().ok_or_else(|| malformed("an unbalanced end"))?;
                    match stack.last_mut() {
                        None => return Ok(done.total),
                        Some(parent) => match done.module {
                            Some(counts) => parent.modules.push(Some(counts)),
                            None => parent.total.add(done.total),
                        },
                    }
                }
                _ => {}
            }
        }
        Err(malformed("a truncated component"))
    }

    fn add(&mut self, other: Footprint) {
        self.core_instances = self.core_instances.saturating_add(other.core_instances);
        self.memories = self.memories.saturating_add(other.memories);
        self.tables = self.tables.saturating_add(other.tables);
    }

    /// Run slots one instance takes (at least one: every run holds a component instance and a
    /// stack, which the pool has one of per slot).
    pub fn slots(&self) -> u32 {
        [
            self.core_instances.div_ceil(CORE_INSTANCES_PER_SLOT),
            self.memories.div_ceil(MEMORIES_PER_SLOT),
            self.tables.div_ceil(TABLES_PER_SLOT),
        ]
        .into_iter()
        .fold(1, u32::max)
    }

    /// Refuses a component over [`MAX`], or one that needs more run slots than the pool has
    /// (`max_concurrent_runs`), naming what is over.
    pub(crate) fn check(&self, pool_slots: u32) -> Result<(), SandboxError> {
        if self.slots() > pool_slots {
            return Err(SandboxError::TooLarge(format!(
                "one instance needs {} run slots ({self:?}) and this server has max_concurrent_runs = {pool_slots}",
                self.slots()
            )));
        }
        let over: Vec<String> = [
            ("core instances", self.core_instances, MAX.core_instances),
            ("memories", self.memories, MAX.memories),
            ("tables", self.tables, MAX.tables),
        ]
        .into_iter()
        .filter(|(_, n, max)| n > max)
        .map(|(what, n, max)| format!("{n} {what} (at most {max})"))
        .collect();
        if over.is_empty() {
            return Ok(());
        }
        Err(SandboxError::TooLarge(format!(
            "one instance would take {}; standard toolchains need far fewer (componentize-py: 14 core instances)",
            over.join(", ")
        )))
    }
}

fn add_to_module(stack: &mut [Frame], memories: u32, tables: u32) {
    if let Some((m, t)) = stack.last_mut().and_then(|frame| frame.module.as_mut()) {
        *m = m.saturating_add(memories);
        *t = t.saturating_add(tables);
    }
}

fn malformed(what: &str) -> SandboxError {
    SandboxError::InvalidComponent(format!("{what} where the component structure does not allow it"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(text: &str) -> Vec<u8> {
        wat::parse_str(text).expect("wat")
    }

    #[test]
    fn counts_instantiations_and_the_memories_and_tables_they_define() {
        let wasm = component(
            r#"(component
                (core module $a (memory 1) (table 1 funcref))
                (core module $b (memory 1) (memory 1))
                (core module $c (import "a" "m" (memory 1)))
                (core instance $a1 (instantiate $a))
                (core instance $a2 (instantiate $a))
                (core instance $b1 (instantiate $b))
                (core instance $c1 (instantiate $c (with "a" (instance $a1)))))"#,
        );
        let footprint = Footprint::of(&wasm).expect("parses");
        assert_eq!(footprint, Footprint { core_instances: 4, memories: 4, tables: 2 });
        assert_eq!(footprint.slots(), 2, "4 memories need two slots of 2");
    }

    #[test]
    fn a_small_component_takes_one_slot_and_a_bomb_is_refused() {
        let small = Footprint { core_instances: 3, memories: 1, tables: 1 };
        assert_eq!(small.slots(), 1);
        assert!(small.check(1).is_ok());
        assert_eq!(Footprint::default().slots(), 1);
        let python = Footprint { core_instances: 14, memories: 1, tables: 2 };
        assert_eq!(python.slots(), 2);
        let err = python.check(1).expect_err("a one-slot pool cannot hold it");
        assert!(err.to_string().contains("needs 2 run slots"), "{err}");

        let many: String = (0..40).map(|i| format!("(core instance $i{i} (instantiate $m))")).collect();
        let bomb = Footprint::of(&component(&format!("(component (core module $m) {many})"))).expect("parses");
        assert_eq!(bomb.core_instances, 40);
        let err = bomb.check(256).expect_err("refused");
        assert!(err.to_string().contains("40 core instances (at most 32)"), "{err}");
        assert!(err.is_invalid_block());
    }
}
