//! Flag groups shared by the subcommands: where the chain is, who signs, where the deployment
//! manifests live. Every flag can also come from the environment (and `.env`); precedence is
//! flag > environment > manifest > default, resolved here.

use std::{fmt, path::PathBuf, str::FromStr};

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
    transports::http::reqwest::Url,
};
use eyre::{WrapErr, bail, eyre};
use runs_primitives::DeploymentManifest;

/// Where the chain is.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RpcArgs {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:8545")]
    pub(crate) rpc_url: Url,
}

impl RpcArgs {
    /// A read-only provider, after checking the endpoint answers; returns it with the chain id.
    pub(crate) async fn connect(&self) -> eyre::Result<(DynProvider, u64)> {
        let provider = ProviderBuilder::new().connect_http(self.rpc_url.clone()).erased();
        let chain_id = chain_id(&provider, &self.rpc_url).await?;
        Ok((provider, chain_id))
    }

    /// A provider that signs with `signer`, after checking the endpoint answers; returns it with
    /// the chain id.
    pub(crate) async fn connect_signing(
        &self,
        signer: PrivateKeySigner,
    ) -> eyre::Result<(DynProvider, u64)> {
        let provider = runs_bindings::signing_provider(self.rpc_url.clone(), signer);
        let chain_id = chain_id(&provider, &self.rpc_url).await?;
        Ok((provider, chain_id))
    }
}

async fn chain_id(provider: &DynProvider, url: &Url) -> eyre::Result<u64> {
    provider.get_chain_id().await.map_err(|err| {
        eyre!("cannot reach the RPC endpoint at {url}: {err}")
            .wrap_err("is the node running and the URL right? (--rpc-url / RPC_URL)")
    })
}

/// Who signs. Exactly one of a private key or a keystore; the key is never printed or logged.
#[derive(Clone, clap::Args)]
pub(crate) struct WalletArgs {
    /// Hex private key of the signing wallet. Prefer the PRIVATE_KEY environment variable or a
    /// keystore: a flag is visible to other users in the process list.
    #[arg(long, env = "PRIVATE_KEY", hide_env_values = true, conflicts_with = "keystore")]
    private_key: Option<String>,

    /// Encrypted JSON keystore of the signing wallet (password from KEYSTORE_PASSWORD or a prompt).
    #[arg(long, env = "KEYSTORE", value_name = "PATH")]
    keystore: Option<PathBuf>,

    /// Password of --keystore. Asked for on the terminal when not set.
    #[arg(long, env = "KEYSTORE_PASSWORD", hide_env_values = true, requires = "keystore")]
    keystore_password: Option<String>,
}

impl fmt::Debug for WalletArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalletArgs")
            .field("private_key", &self.private_key.as_ref().map(|_| "<redacted>"))
            .field("keystore", &self.keystore)
            .field("keystore_password", &self.keystore_password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl WalletArgs {
    /// Whether a key or a keystore is configured at all.
    pub(crate) fn is_configured(&self) -> bool {
        self.private_key.is_some() || self.keystore.is_some()
    }

    /// The signer these flags name.
    pub(crate) fn signer(&self) -> eyre::Result<PrivateKeySigner> {
        if let Some(key) = &self.private_key {
            // The parse error of a malformed key can echo part of it; say only what is wrong.
            return PrivateKeySigner::from_str(key.trim()).map_err(|_| {
                eyre!("--private-key / PRIVATE_KEY is not a valid hex secp256k1 private key")
            });
        }
        let Some(path) = &self.keystore else {
            bail!(
                "no signer: pass --private-key (or PRIVATE_KEY) or --keystore PATH (or KEYSTORE)"
            );
        };
        if !path.is_file() {
            bail!("keystore {} does not exist", path.display());
        }
        let password = match &self.keystore_password {
            Some(password) => password.clone(),
            None => rpassword::prompt_password(format!("password of {}: ", path.display()))
                .wrap_err("could not read the keystore password from the terminal")?,
        };
        PrivateKeySigner::decrypt_keystore(path, password)
            .map_err(|err| eyre!("could not decrypt keystore {}: {err}", path.display()))
    }
}

/// Where the deployment manifests live.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ManifestArgs {
    /// Directory of the deployment manifests (`<chainId>.json`).
    #[arg(long, env = "RUNS_DEPLOYMENTS", default_value = "deployments", value_name = "DIR")]
    pub(crate) deployments: PathBuf,
}

impl ManifestArgs {
    /// The manifest path for `chain_id`.
    pub(crate) fn path(&self, chain_id: u64) -> PathBuf {
        DeploymentManifest::path_for(&self.deployments, chain_id)
    }

    /// The manifest of `chain_id`, with a clear error when there is none.
    pub(crate) fn load(&self, chain_id: u64) -> eyre::Result<DeploymentManifest> {
        let path = self.path(chain_id);
        if !path.is_file() {
            bail!(
                "no deployment for chain {chain_id}: {} does not exist (run `runs deploy` first, \
                 or point --deployments / RUNS_DEPLOYMENTS at the right directory)",
                path.display()
            );
        }
        DeploymentManifest::load(&path).wrap_err_with(|| format!("reading {}", path.display()))
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct OutputArgs {
    /// Print the result as one JSON object on stdout (for scripts).
    #[arg(long, env = "RUNS_JSON")]
    pub(crate) json: bool,
}
