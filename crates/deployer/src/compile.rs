//! Compiles the marketplace contracts from source with `foundry-compilers`, with the same pinned
//! compiler and settings as `forge build` (read from `foundry.toml`), so that `runs deploy` works
//! from a fresh checkout without a prior build and deploys exactly what the tests and bindings saw.
//!
//! Nothing is written to disk: no artifacts, no cache. The compiler is not downloaded (no svm):
//! it must already be installed at `~/.svm/<version>/solc-<version>` (or under `$SVM_HOME`),
//! which is where `script/setup` puts it.

use std::{
    env,
    path::{Path, PathBuf},
};

use alloy::{json_abi::JsonAbi, primitives::Bytes};
use foundry_compilers::{
    ProjectBuilder, ProjectPathsConfig,
    artifacts::{
        BytecodeHash, EvmVersion, Optimizer, Remapping, Settings, SettingsMetadata,
        remappings::RelativeRemapping,
    },
    solc::{Solc, SolcCompiler, SolcLanguage, SolcSettings},
};
use tracing::{debug, info, warn};

use crate::{Error, Result};

/// The contracts the deployer needs, in the form the compiler produced them.
#[derive(Debug, Clone)]
pub struct CompiledContracts {
    /// The solc version they were compiled with.
    pub solc_version: String,
    /// `StakeVault`.
    pub stake_vault: CompiledContract,
    /// `RunEscrow`.
    pub run_escrow: CompiledContract,
    /// `MockUSDC`.
    pub mock_usdc: CompiledContract,
}

/// One compiled contract.
#[derive(Debug, Clone)]
pub struct CompiledContract {
    /// Creation bytecode (without constructor arguments).
    pub bytecode: Bytes,
    /// The ABI.
    pub abi: JsonAbi,
}

/// Compiler settings that must match `foundry.toml` (`[profile.default]`); a test compares the
/// output with `forge build`'s so the two cannot drift apart silently.
const OPTIMIZER_RUNS: usize = 10_000;
const EVM_VERSION: EvmVersion = EvmVersion::Cancun;
const OZ_REMAPPING: &str = "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/";

/// How many times a compiler killed by a signal is run before the error is reported.
const COMPILE_ATTEMPTS: u32 = 3;

/// The source files compiled, relative to the project root; their imports are resolved from them.
const SOURCES: [&str; 3] =
    ["contracts/StakeVault.sol", "contracts/RunEscrow.sol", "contracts/mocks/MockUSDC.sol"];

/// Compiles `StakeVault`, `RunEscrow` and `MockUSDC` from the project at `root` (the directory of
/// `foundry.toml`). Blocking, and slow with the solc-js compiler (tens of seconds): call it from
/// `tokio::task::spawn_blocking` in async code.
pub fn compile(root: &Path) -> Result<CompiledContracts> {
    let version = pinned_solc_version(root)?;
    let solc_path = solc_path(&version);
    if !solc_path.is_file() {
        return Err(Error::CompilerMissing { version, path: solc_path });
    }
    let solc = Solc::new(&solc_path)?;
    info!(target: "runs::deployer", solc = %solc_path.display(), %version, "compiling the contracts");

    let remapping: Remapping = OZ_REMAPPING.parse().map_err(|err| Error::FoundryToml {
        path: root.join("foundry.toml"),
        reason: format!("bad remapping {OZ_REMAPPING}: {err}"),
    })?;
    let paths = ProjectPathsConfig::builder()
        .root(root)
        .sources(root.join("contracts"))
        .tests(root.join("tests"))
        .scripts(root.join("script"))
        .libs([root.join("node_modules")])
        .remappings([remapping.clone()])
        .build::<SolcLanguage>()
        .map_err(|err| Error::FoundryToml {
            path: root.to_owned(),
            reason: format!("not a project directory: {err}"),
        })?;

    let mut settings = Settings {
        optimizer: Optimizer { enabled: Some(true), runs: Some(OPTIMIZER_RUNS), details: None },
        evm_version: Some(EVM_VERSION),
        metadata: Some(SettingsMetadata {
            use_literal_content: None,
            bytecode_hash: Some(BytecodeHash::None),
            cbor_metadata: None,
        }),
        ..Settings::default()
    };
    // Relative, as forge passes them: the remapping takes part in the metadata solc embeds.
    settings.remappings = vec![RelativeRemapping::new(remapping, root).into()];
    let settings = SolcSettings { settings, ..SolcSettings::default() };

    let project = ProjectBuilder::<SolcCompiler>::new(Default::default())
        .paths(paths)
        .settings(settings)
        .ephemeral()
        .no_artifacts()
        .offline()
        .build(SolcCompiler::Specific(solc))?;
    // solc-js (the shim installed where no native solc exists) runs under Node, which has been
    // seen to die of a V8 trap (SIGTRAP, no output) about once in a few hundred compiles under a
    // loaded CI. A compiler killed by a signal is run again; one that answered never is.
    let mut attempt = 1;
    let output = loop {
        match project.compile_files(SOURCES.iter().map(|file| root.join(file))) {
            Err(err)
                if attempt < COMPILE_ATTEMPTS && err.to_string().contains("exited with signal") =>
            {
                warn!(target: "runs::deployer", %err, attempt, "the compiler crashed; compiling again");
                attempt += 1;
            }
            result => break result?,
        }
    };
    if output.has_compiler_errors() {
        return Err(Error::CompilationFailed(output.to_string()));
    }
    debug!(target: "runs::deployer", "compiled");

    let take = |name: &'static str| -> Result<CompiledContract> {
        let artifact = output.find_first(name).ok_or(Error::MissingArtifact(name))?;
        let bytecode = artifact
            .bytecode
            .as_ref()
            .and_then(|bytecode| bytecode.object.as_bytes())
            .filter(|bytes| !bytes.is_empty())
            .ok_or(Error::MissingArtifact(name))?
            .clone();
        let abi = artifact.abi.clone().ok_or(Error::MissingArtifact(name))?;
        Ok(CompiledContract { bytecode, abi })
    };
    Ok(CompiledContracts {
        stake_vault: take("StakeVault")?,
        run_escrow: take("RunEscrow")?,
        mock_usdc: take("MockUSDC")?,
        solc_version: version,
    })
}

/// The solc version pinned by `solc_version` (or `solc`) in `<root>/foundry.toml`.
pub fn pinned_solc_version(root: &Path) -> Result<String> {
    let path = root.join("foundry.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|err| Error::FoundryToml { path: path.clone(), reason: err.to_string() })?;
    parse_solc_version(&text).ok_or_else(|| Error::FoundryToml {
        path,
        reason: "no `solc_version = \"x.y.z\"` pinned".into(),
    })
}

/// Finds `solc_version = "x.y.z"` (or `solc = "x.y.z"`): foundry.toml is simple enough that a
/// line scan (as script/setup does) beats pulling in a TOML parser.
fn parse_solc_version(foundry_toml: &str) -> Option<String> {
    foundry_toml.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        if !matches!(key.trim(), "solc_version" | "solc") {
            return None;
        }
        let value = value.trim().strip_prefix('"')?;
        let version = &value[..value.find('"')?];
        let valid = !version.is_empty()
            && version.split('.').count() == 3
            && version.chars().all(|c| c.is_ascii_digit() || c == '.');
        valid.then(|| version.to_owned())
    })
}

/// Where forge and foundry-compilers keep installed compilers: `$SVM_HOME` or `~/.svm`.
pub fn solc_path(version: &str) -> PathBuf {
    let svm = env::var_os("SVM_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".svm"));
    svm.join(version).join(format!("solc-{version}"))
}

/// The project root containing `start`: the nearest ancestor (or itself) holding `foundry.toml`
/// and `contracts/`.
pub fn find_project_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("foundry.toml").is_file() && dir.join("contracts").is_dir())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_pinned_version() {
        assert_eq!(parse_solc_version("solc_version = \"0.8.30\"\n").as_deref(), Some("0.8.30"));
        assert_eq!(
            parse_solc_version("[profile.default]\nsrc = \"contracts\"\nsolc = \"0.8.24\" # pin\n")
                .as_deref(),
            Some("0.8.24")
        );
        assert_eq!(parse_solc_version("solc_version = \"latest\""), None);
        assert_eq!(parse_solc_version("optimizer = true"), None);
    }

    #[test]
    fn the_repository_pins_a_version_and_is_found() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
        let root = find_project_root(&crate_dir).expect("the repository root");
        assert!(root.join("contracts/StakeVault.sol").is_file());
        let version = pinned_solc_version(&root).unwrap();
        assert!(solc_path(&version).ends_with(format!("{version}/solc-{version}")));
    }

    #[test]
    fn a_missing_compiler_says_how_to_install_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("foundry.toml"), "solc_version = \"0.0.1\"\n").unwrap();
        let err = compile(dir.path()).unwrap_err();
        assert!(matches!(err, Error::CompilerMissing { .. }), "{err}");
        assert!(err.to_string().contains("run script/setup"), "{err}");
    }
}
