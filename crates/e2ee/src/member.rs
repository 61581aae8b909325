//! One device as an MLS member: its key packages, and the groups it belongs to.

use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use std::collections::HashMap;

use openmls_basic_credential::SignatureKeyPair;

use crate::provider::Provider;
use crate::{CIPHERSUITE, DeviceIdentity, E2eeError, E2eeResult, refused};

/// Where a device keeps who it is, beside openmls's own values (its labels never look like this).
const IDENTITY: &[u8] = b"kolokol:identity";

/// Key packages live 84 days, openmls's own bound, inside the 92 days the server accepts.
const KEY_PACKAGE_LIFETIME_SECONDS: u64 = 84 * 24 * 60 * 60;

/// A device: its signing key, credential and the openmls provider that keeps its secrets.
pub struct MlsClient {
    identity: DeviceIdentity,
    provider: Provider,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

/// What a commit sends: the commit for the chat, and a Welcome for the devices it adds.
pub struct Outgoing {
    pub commit: Vec<u8>,
    pub welcome: Option<Vec<u8>>,
}

/// A message of the chat, processed.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Application {
        sender_leaf: u32,
        authenticated_data: Vec<u8>,
        data: Vec<u8>,
    },
    /// Another member's commit, merged: the group is at the next epoch.
    Commit {
        sender_leaf: u32,
        added: Vec<Vec<u8>>,
        removed: Vec<u32>,
        /// This device was removed: the group is over for it.
        removed_me: bool,
    },
}

/// A group this device is a member of.
pub struct Group {
    inner: MlsGroup,
}

fn create_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(CIPHERSUITE)
        .wire_format_policy(PURE_PLAINTEXT_WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(true)
        .build()
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(PURE_PLAINTEXT_WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(true)
        .build()
}

fn serialize(message: &MlsMessageOut) -> E2eeResult<Vec<u8>> {
    message.tls_serialize_detached().map_err(refused)
}

fn read(bytes: &[u8]) -> E2eeResult<MlsMessageBodyIn> {
    MlsMessageIn::tls_deserialize_exact(bytes)
        .map(MlsMessageIn::extract)
        .map_err(|error| E2eeError::Malformed(error.to_string()))
}

impl MlsClient {
    /// A new device with a fresh Ed25519 signing key.
    pub fn new(identity: DeviceIdentity) -> E2eeResult<Self> {
        let signer = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm()).map_err(refused)?;
        Self::with(identity, Provider::default(), signer)
    }

    fn with(
        identity: DeviceIdentity,
        provider: Provider,
        signer: SignatureKeyPair,
    ) -> E2eeResult<Self> {
        signer.store(provider.storage()).map_err(refused)?;
        let who = format!("{}:{}:", identity.user_id, identity.device_id);
        let record = [who.as_bytes(), signer.public()].concat();
        provider
            .storage()
            .values
            .write()
            .expect("the storage lock")
            .insert(IDENTITY.to_vec(), record);
        let credential = CredentialWithKey {
            credential: BasicCredential::new(identity.credential()).into(),
            signature_key: signer.public().into(),
        };
        Ok(Self {
            identity,
            provider,
            signer,
            credential,
        })
    }

    /// The device as it was saved (its [`MlsClient::values`]); `None` if they hold no device.
    pub fn restore(values: HashMap<Vec<u8>, Vec<u8>>) -> E2eeResult<Option<Self>> {
        let Some(record) = values.get(IDENTITY).cloned() else {
            return Ok(None);
        };
        let unreadable = || E2eeError::Storage("a stored identity that cannot be read".into());
        let mut parts = record.splitn(3, |&byte| byte == b':');
        let mut number = || -> E2eeResult<i64> {
            let digits = std::str::from_utf8(parts.next().ok_or_else(unreadable)?)
                .map_err(|_| unreadable())?;
            digits.parse().map_err(|_| unreadable())
        };
        let identity = DeviceIdentity {
            user_id: number()?,
            device_id: number()?,
        };
        let public_key = parts.next().ok_or_else(unreadable)?.to_vec();
        let provider = Provider::with_values(values);
        let signer = SignatureKeyPair::read(
            provider.storage(),
            &public_key,
            CIPHERSUITE.signature_algorithm(),
        )
        .ok_or_else(unreadable)?;
        Self::with(identity, provider, signer).map(Some)
    }

    /// Everything the device keeps (openmls's state and who it is), to seal.
    pub fn values(&self) -> HashMap<Vec<u8>, Vec<u8>> {
        self.provider.values()
    }

    /// A group this device was in when its state was saved.
    pub fn load_group(&self, group_id: &[u8]) -> E2eeResult<Option<Group>> {
        let loaded = MlsGroup::load(self.provider.storage(), &GroupId::from_slice(group_id))
            .map_err(refused)?;
        Ok(loaded.map(|inner| Group { inner }))
    }

    pub fn identity(&self) -> DeviceIdentity {
        self.identity
    }

    /// The public half of the device's signing key, as the server registers it.
    pub fn signature_key(&self) -> &[u8] {
        self.signer.public()
    }

    /// A key package to publish, as an MLSMessage. A last-resort package is never used up.
    pub fn key_package(&self, last_resort: bool) -> E2eeResult<Vec<u8>> {
        let mut builder =
            KeyPackage::builder().key_package_lifetime(Lifetime::new(KEY_PACKAGE_LIFETIME_SECONDS));
        if last_resort {
            builder = builder.mark_as_last_resort();
        }
        let bundle = builder
            .build(
                CIPHERSUITE,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .map_err(refused)?;
        serialize(&MlsMessageOut::from(bundle.key_package().clone()))
    }

    /// Starts a chat's group with this device alone in it, at epoch 0.
    pub fn create_group(&self, group_id: &[u8]) -> E2eeResult<Group> {
        let inner = MlsGroup::new_with_group_id(
            &self.provider,
            &self.signer,
            &create_config(),
            GroupId::from_slice(group_id),
            self.credential.clone(),
        )
        .map_err(refused)?;
        Ok(Group { inner })
    }

    /// Joins a group from a Welcome that names one of this device's key packages.
    pub fn join(&self, welcome: &[u8]) -> E2eeResult<Group> {
        let MlsMessageBodyIn::Welcome(welcome) = read(welcome)? else {
            return Err(E2eeError::Malformed("not a Welcome".into()));
        };
        // A member who has not committed for 84 days must not stop everyone else from joining:
        // leaves' lifetimes matter for key packages (the server checks those), not inside the tree.
        let inner = StagedWelcome::build_from_welcome(&self.provider, &join_config(), welcome)
            .map_err(refused)?
            .skip_lifetime_validation()
            .build()
            .map_err(refused)?
            .into_group(&self.provider)
            .map_err(refused)?;
        Ok(Group { inner })
    }
}

impl Group {
    pub fn group_id(&self) -> &[u8] {
        self.inner.group_id().as_slice()
    }

    pub fn epoch(&self) -> u64 {
        self.inner.epoch().as_u64()
    }

    pub fn own_leaf(&self) -> u32 {
        self.inner.own_leaf_index().u32()
    }

    /// Compared between members out of band: equal codes mean the same group state.
    pub fn epoch_authenticator(&self) -> &[u8] {
        self.inner.epoch_authenticator().as_slice()
    }

    /// Members by leaf index, with their credentials' identities.
    pub fn members(&self) -> Vec<(u32, Vec<u8>)> {
        self.inner
            .members()
            .map(|member| {
                (
                    member.index.u32(),
                    member.credential.serialized_content().to_vec(),
                )
            })
            .collect()
    }

    /// A commit adding these key packages and removing these leaves, with a fresh path for this
    /// device (a full commit is also how keys are updated: no standalone Update proposals).
    /// It stays pending until [`Group::merge_pending`] (the server took it) or
    /// [`Group::clear_pending`] (another commit won the epoch).
    pub fn commit(
        &mut self,
        client: &MlsClient,
        key_packages: &[Vec<u8>],
        removed_leaves: &[u32],
    ) -> E2eeResult<Outgoing> {
        let mut adds = Vec::with_capacity(key_packages.len());
        for bytes in key_packages {
            let MlsMessageBodyIn::KeyPackage(key_package) = read(bytes)? else {
                return Err(E2eeError::Malformed("not a key package".into()));
            };
            let key_package = key_package
                .validate(client.provider.crypto(), ProtocolVersion::Mls10)
                .map_err(refused)?;
            adds.push(key_package);
        }
        let bundle = self
            .inner
            .commit_builder()
            .propose_adds(adds)
            .propose_removals(removed_leaves.iter().map(|&leaf| LeafNodeIndex::new(leaf)))
            .force_self_update(true)
            .load_psks(client.provider.storage())
            .map_err(refused)?
            .build(
                client.provider.rand(),
                client.provider.crypto(),
                &client.signer,
                |_| true,
            )
            .map_err(refused)?
            .stage_commit(&client.provider)
            .map_err(refused)?;
        let commit = serialize(bundle.commit())?;
        let welcome = bundle
            .to_welcome_msg()
            .map(|welcome| serialize(&welcome))
            .transpose()?;
        Ok(Outgoing { commit, welcome })
    }

    /// The server accepted this device's commit: move to the new epoch.
    pub fn merge_pending(&mut self, client: &MlsClient) -> E2eeResult<()> {
        self.inner
            .merge_pending_commit(&client.provider)
            .map_err(refused)
    }

    /// Another commit won the epoch: forget this device's own.
    pub fn clear_pending(&mut self, client: &MlsClient) -> E2eeResult<()> {
        self.inner
            .clear_pending_commit(client.provider.storage())
            .map_err(refused)
    }

    /// An application message at the current epoch, with `authenticated_data` in clear but bound
    /// to the ciphertext (Kolokol puts the message's franking tag there).
    pub fn encrypt(
        &mut self,
        client: &MlsClient,
        authenticated_data: &[u8],
        data: &[u8],
    ) -> E2eeResult<Vec<u8>> {
        self.inner.set_aad(authenticated_data.to_vec());
        let message = self
            .inner
            .create_message(&client.provider, &client.signer, data)
            .map_err(refused)?;
        serialize(&message)
    }

    /// Processes the next message of the chat's stream (in seq order). A commit is merged at once:
    /// the server accepted it, so every member moves to its epoch.
    pub fn process(&mut self, client: &MlsClient, bytes: &[u8]) -> E2eeResult<Incoming> {
        let message = match read(bytes)? {
            MlsMessageBodyIn::PublicMessage(message) => ProtocolMessage::from(message),
            MlsMessageBodyIn::PrivateMessage(message) => ProtocolMessage::from(message),
            _ => return Err(E2eeError::Malformed("not a group message".into())),
        };
        let processed = self
            .inner
            .process_message(&client.provider, message)
            .map_err(refused)?;
        let sender_leaf = match processed.sender() {
            Sender::Member(leaf) => leaf.u32(),
            _ => return Err(E2eeError::Malformed("not sent by a member".into())),
        };
        let authenticated_data = processed.aad().to_vec();
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(message) => Ok(Incoming::Application {
                sender_leaf,
                authenticated_data,
                data: message.into_bytes(),
            }),
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                let added = staged
                    .add_proposals()
                    .map(|add| {
                        add.add_proposal()
                            .key_package()
                            .leaf_node()
                            .credential()
                            .serialized_content()
                            .to_vec()
                    })
                    .collect();
                let removed = staged
                    .remove_proposals()
                    .map(|remove| remove.remove_proposal().removed().u32())
                    .collect();
                let removed_me = staged.self_removed();
                self.inner
                    .merge_staged_commit(&client.provider, *staged)
                    .map_err(refused)?;
                Ok(Incoming::Commit {
                    sender_leaf,
                    added,
                    removed,
                    removed_me,
                })
            }
            _ => Err(E2eeError::Malformed(
                "a standalone proposal (Kolokol commits proposals by value)".into(),
            )),
        }
    }
}
