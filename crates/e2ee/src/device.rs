//! A device talking to a Kolokol server: its MLS client, the groups of its encrypted chats, and
//! the delivery service's calls (key packages, claims, commits, Welcomes, messages in seq order).
//! Opened with [`Device::open_sealed`], everything it knows is kept in a sealed file, saved
//! before it acts on a result, so a restart resumes where it was.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use kolokol_client::proto::{
    Base64Bytes, ChatId, CommitRequest, Message, PublishKeyPackagesRequest, SendMessageRequest,
    Seq, UserId,
};
use kolokol_client::{Client, Page};

use crate::content::{self, Content};
use crate::sealed::SealedFile;
use crate::{DeviceIdentity, E2eeError, E2eeResult, Group, Incoming, MlsClient};

/// Where the device keeps its chats' positions, beside openmls's values.
const CHATS: &[u8] = b"kolokol:chats";

/// How many key packages a device keeps published (besides its last-resort one).
pub const KEY_PACKAGES: usize = 20;
/// Below this many, it publishes more.
const KEY_PACKAGES_LOW: u32 = 10;
/// Messages read per request while catching up.
const PAGE: u32 = 100;

/// A message of an encrypted chat, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub seq: Seq,
    pub sender_id: UserId,
    pub content: Content,
    /// The content's bytes as decrypted: what an abuse report discloses (and nothing else).
    pub disclosure: Vec<u8>,
}

/// One encrypted chat as this device follows it.
#[derive(Default)]
struct ChatState {
    group: Option<Group>,
    /// Every message of the chat up to here has been processed.
    seen: Seq,
    /// What this device sent: it cannot decrypt its own messages.
    own: BTreeSet<Seq>,
    /// The `client_msg_id` of a commit sent and not yet answered (openmls keeps its state).
    pending: Option<String>,
}

/// A chat's position as saved; its group is openmls's own, by id.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredChat {
    seen: Seq,
    own: Vec<Seq>,
    group_id: Option<Vec<u8>>,
    pending: Option<String>,
}

/// A signed-in session as an MLS device.
pub struct Device {
    api: Client,
    mls: MlsClient,
    chats: HashMap<ChatId, ChatState>,
    sealed: Option<SealedFile>,
}

impl Device {
    /// The device of `api`'s session (signed in as `user_id`), with its key packages published.
    /// Its state lives in memory only: it is lost with the process.
    pub async fn open(api: Client, user_id: UserId) -> E2eeResult<Device> {
        Self::start(api, user_id, None).await
    }

    /// The device of `api`'s session kept in the sealed file at `path` (opened with `key`): as it
    /// was saved, or, for a session the file does not hold, a new device saved there.
    pub async fn open_sealed(
        api: Client,
        user_id: UserId,
        path: &Path,
        key: &[u8; 32],
    ) -> E2eeResult<Device> {
        let mut file = SealedFile::open(path, key)?;
        let values = file.load()?;
        let session = current_session(&api).await?;
        let chats = values.get(CHATS).cloned();
        if let Some(mls) = MlsClient::restore(values)?
            && mls.identity()
                == (DeviceIdentity {
                    user_id,
                    device_id: session,
                })
        {
            let mut device = Device {
                api,
                mls,
                chats: HashMap::new(),
                sealed: Some(file),
            };
            let stored: HashMap<ChatId, StoredChat> = match chats {
                Some(json) => serde_json::from_slice(&json)
                    .map_err(|_| E2eeError::Storage("stored chats that cannot be read".into()))?,
                None => HashMap::new(),
            };
            for (chat_id, chat) in stored {
                let group = match &chat.group_id {
                    Some(id) => device.mls.load_group(id)?,
                    None => None,
                };
                let state = ChatState {
                    group,
                    seen: chat.seen,
                    own: chat.own.into_iter().collect(),
                    pending: chat.pending,
                };
                device.chats.insert(chat_id, state);
            }
            device.replenish().await?;
            return Ok(device);
        }
        Self::start(api, user_id, Some(file)).await
    }

    async fn start(api: Client, user_id: UserId, sealed: Option<SealedFile>) -> E2eeResult<Device> {
        let identity = DeviceIdentity {
            user_id,
            device_id: current_session(&api).await?,
        };
        let mut device = Device {
            api,
            mls: MlsClient::new(identity)?,
            chats: HashMap::new(),
            sealed,
        };
        match device.publish(KEY_PACKAGES, true).await {
            // The session was a device whose state is lost: it starts again as a new one, and
            // members replace its leaves.
            Err(E2eeError::Api(error))
                if error.code() == Some(kolokol_client::proto::ErrorCode::MlsInvalidKeyPackage) =>
            {
                device.api.forget_device().await?;
                device.publish(KEY_PACKAGES, true).await?;
            }
            published => published?,
        }
        Ok(device)
    }

    /// Saves everything the device knows (in a sealed file, when it has one).
    fn save(&mut self) -> E2eeResult<()> {
        let Some(file) = self.sealed.as_mut() else {
            return Ok(());
        };
        let chats: HashMap<ChatId, StoredChat> = self
            .chats
            .iter()
            .map(|(&chat_id, chat)| {
                let stored = StoredChat {
                    seen: chat.seen,
                    own: chat.own.iter().copied().collect(),
                    group_id: chat.group.as_ref().map(|group| group.group_id().to_vec()),
                    pending: chat.pending.clone(),
                };
                (chat_id, stored)
            })
            .collect();
        let mut values = self.mls.values();
        values.insert(
            CHATS.to_vec(),
            serde_json::to_vec(&chats).expect("chats serialize"),
        );
        file.save(&values)
    }

    pub fn identity(&self) -> DeviceIdentity {
        self.mls.identity()
    }

    pub fn api(&self) -> &Client {
        &self.api
    }

    async fn publish(&mut self, count: usize, last_resort: bool) -> E2eeResult<()> {
        let request = PublishKeyPackagesRequest {
            key_packages: (0..count)
                .map(|_| self.mls.key_package(false).map(Base64Bytes))
                .collect::<E2eeResult<_>>()?,
            last_resort: match last_resort {
                true => Some(Base64Bytes(self.mls.key_package(true)?)),
                false => None,
            },
        };
        // Their private keys are kept first: a Welcome may come as soon as they are out.
        self.save()?;
        self.api.publish_key_packages(&request).await?;
        Ok(())
    }

    /// Publishes key packages when others have used most of them.
    pub async fn replenish(&mut self) -> E2eeResult<()> {
        let status = self.api.key_package_status().await?;
        if status.available < KEY_PACKAGES_LOW {
            let missing = KEY_PACKAGES.saturating_sub(status.available as usize);
            self.publish(missing, !status.last_resort).await?;
        }
        Ok(())
    }

    /// A new `client_msg_id`: random, so a restarted device never repeats one.
    fn next_id(&self, what: &str) -> String {
        format!(
            "{what}-{}-{:016x}",
            self.identity().device_id,
            rand::random::<u64>()
        )
    }

    /// Whether this device is in the chat's group.
    pub fn is_member(&self, chat_id: ChatId) -> bool {
        self.chats
            .get(&chat_id)
            .is_some_and(|chat| chat.group.is_some())
    }

    /// The chat's epoch authenticator: equal on every member's device at the same epoch.
    pub fn epoch_authenticator(&self, chat_id: ChatId) -> Option<Vec<u8>> {
        let group = self.chats.get(&chat_id)?.group.as_ref()?;
        Some(group.epoch_authenticator().to_vec())
    }

    /// The safety number of this user and `other`, from both users' devices as the server lists
    /// them: compare it with theirs (or scan their code) to know no one else's device is there.
    pub async fn safety_number(&self, other: UserId) -> E2eeResult<String> {
        let me = self.identity().user_id;
        let keys = |devices: Vec<kolokol_client::proto::DeviceInfo>| -> Vec<Vec<u8>> {
            devices
                .into_iter()
                .map(|device| device.signature_key.0)
                .collect()
        };
        let mine = keys(self.api.devices(me).await?);
        let theirs = keys(self.api.devices(other).await?);
        Ok(crate::safety::safety_number((me, &mine), (other, &theirs)))
    }

    pub fn epoch(&self, chat_id: ChatId) -> Option<u64> {
        Some(self.chats.get(&chat_id)?.group.as_ref()?.epoch())
    }

    /// Commits what the chat waits for: others' devices to add, leaves to remove; with neither,
    /// it is a key update. The first commit of a chat starts its group. On a conflict (another
    /// commit won the epoch) the commit is dropped and the error returned: sync, then commit
    /// again.
    pub async fn commit(&mut self, chat_id: ChatId) -> E2eeResult<Message> {
        let state = self.api.mls_group(chat_id).await?;
        let me = self.identity().device_id;
        if !self.is_member(chat_id) {
            if state.epoch != 0 {
                return Err(E2eeError::NotInGroup(chat_id));
            }
            let group = self.mls.create_group(&state.group_id.0)?;
            self.chats.entry(chat_id).or_default().group = Some(group);
        }
        let others: Vec<i64> = state
            .pending_add
            .iter()
            .map(|device| device.device_id)
            .filter(|&id| id != me)
            .collect();
        let packages: Vec<Vec<u8>> = match others.is_empty() {
            true => Vec::new(),
            false => {
                let claimed = self.api.claim_key_packages(chat_id, Some(others)).await?;
                claimed
                    .key_packages
                    .into_iter()
                    .map(|package| package.key_package.0)
                    .collect()
            }
        };
        let client_msg_id = self.next_id("commit");
        let mls = &self.mls;
        let chat = self.chats.get_mut(&chat_id).expect("created above");
        let group = chat.group.as_mut().expect("created above");
        let outgoing = group.commit(mls, &packages, &state.pending_remove)?;
        chat.pending = Some(client_msg_id.clone());
        // Kept before it is sent: after a crash, the next sync finds out whether it landed.
        self.save()?;
        let request = CommitRequest {
            client_msg_id,
            commit: Base64Bytes(outgoing.commit),
            welcome: outgoing.welcome.map(Base64Bytes),
        };
        let answer = self.api.commit(chat_id, &request).await;
        let mls = &self.mls;
        let chat = self.chats.get_mut(&chat_id).expect("created above");
        let group = chat.group.as_mut().expect("created above");
        chat.pending = None;
        let result = match answer {
            Ok((message, _)) => {
                group.merge_pending(mls)?;
                chat.own.insert(message.seq);
                chat.seen = message.seq;
                Ok(message)
            }
            Err(error) => {
                group.clear_pending(mls)?;
                Err(error.into())
            }
        };
        self.save()?;
        result
    }

    /// Joins every group a Welcome waits for; the chats joined.
    pub async fn accept_welcomes(&mut self) -> E2eeResult<Vec<ChatId>> {
        let mut joined = Vec::new();
        for welcome in self.api.welcomes().await? {
            let group = self.mls.join(&welcome.welcome.0)?;
            let chat = self.chats.entry(welcome.chat_id).or_default();
            chat.group = Some(group);
            chat.seen = welcome.commit_seq;
            chat.own.clear();
            chat.pending = None;
            self.save()?;
            self.api.forget_welcome(welcome.id).await?;
            joined.push(welcome.chat_id);
        }
        Ok(joined)
    }

    /// An application message at the group's current epoch: `bytes` encrypted, with
    /// `authenticated_data` in clear. [`Device::seal`] frames content first.
    pub fn encrypt(
        &mut self,
        chat_id: ChatId,
        authenticated_data: &[u8],
        bytes: &[u8],
    ) -> E2eeResult<Vec<u8>> {
        let mls = &self.mls;
        let group = self
            .chats
            .get_mut(&chat_id)
            .and_then(|chat| chat.group.as_mut())
            .ok_or(E2eeError::NotInGroup(chat_id))?;
        let sealed = group.encrypt(mls, authenticated_data, bytes)?;
        // The sender's ratchet moved: kept before the message can go out.
        self.save()?;
        Ok(sealed)
    }

    /// Content framed (with its franking tag) and encrypted, as the request that sends it.
    pub fn seal(&mut self, chat_id: ChatId, content: Content) -> E2eeResult<SendMessageRequest> {
        let framed = content::frame(content);
        let data = self.encrypt(chat_id, &framed.authenticated_data, &framed.bytes)?;
        Ok(SendMessageRequest {
            client_msg_id: self.next_id("m"),
            mls: Some(Base64Bytes(data)),
            ..SendMessageRequest::default()
        })
    }

    /// Encrypts and sends content at the group's current epoch.
    pub async fn send(&mut self, chat_id: ChatId, content: Content) -> E2eeResult<Message> {
        let request = self.seal(chat_id, content)?;
        let (message, _) = self.api.send_message(chat_id, &request).await?;
        if let Some(chat) = self.chats.get_mut(&chat_id) {
            chat.own.insert(message.seq);
        }
        self.save()?;
        Ok(message)
    }

    pub async fn send_text(&mut self, chat_id: ChatId, text: &str) -> E2eeResult<Message> {
        let content = Content::Text {
            text: text.to_owned(),
            reply_to: None,
        };
        self.send(chat_id, content).await
    }

    /// Processes the chat's new messages in seq order: commits move the group on, application
    /// messages are decrypted and returned. A commit that removes this device ends its group.
    pub async fn sync(&mut self, chat_id: ChatId) -> E2eeResult<Vec<Received>> {
        let mut read = Vec::new();
        loop {
            let seen = self
                .chats
                .get(&chat_id)
                .ok_or(E2eeError::NotInGroup(chat_id))?
                .seen;
            let page = Page {
                after: Some(seen),
                limit: Some(PAGE),
                ..Page::default()
            };
            let messages = self.api.messages(chat_id, page).await?;
            if messages.is_empty() {
                return Ok(read);
            }
            for message in messages {
                if let Some(received) = self.process(chat_id, message)? {
                    read.push(received);
                }
                if !self.is_member(chat_id) {
                    return Ok(read);
                }
            }
        }
    }

    /// Processes one message of the chat, the next after those seen, and saves where it got.
    pub fn process(&mut self, chat_id: ChatId, message: Message) -> E2eeResult<Option<Received>> {
        let result = self.read(chat_id, message);
        self.save()?;
        result
    }

    fn read(&mut self, chat_id: ChatId, message: Message) -> E2eeResult<Option<Received>> {
        let me = self.identity().user_id;
        let mls = &self.mls;
        let chat = self
            .chats
            .get_mut(&chat_id)
            .ok_or(E2eeError::NotInGroup(chat_id))?;
        if message.seq <= chat.seen {
            return Ok(None);
        }
        chat.seen = message.seq;
        let is_commit = message
            .mls
            .as_ref()
            .is_some_and(|mls| mls.kind == kolokol_client::proto::MlsKind::Commit);
        let pending = chat.pending.take_if(|_| is_commit);
        if let (Some(pending), Some(group)) = (pending, chat.group.as_mut()) {
            // A commit sent before a crash: it landed if this is it; otherwise another won.
            if message.sender_id == me && message.client_msg_id == pending {
                group.merge_pending(mls)?;
                return Ok(None);
            }
            group.clear_pending(mls)?;
        }
        let own = chat.own.contains(&message.seq);
        let (Some(group), Some(payload), false) = (chat.group.as_mut(), message.mls, own) else {
            return Ok(None);
        };
        let Some(data) = payload.data else {
            return Ok(None);
        };
        match group.process(mls, &data.0)? {
            Incoming::Application {
                data,
                authenticated_data,
                ..
            } => Ok(Some(Received {
                seq: message.seq,
                sender_id: message.sender_id,
                content: content::open(&data, &authenticated_data)?,
                disclosure: data,
            })),
            Incoming::Commit { removed_me, .. } => {
                if removed_me {
                    chat.group = None;
                }
                Ok(None)
            }
        }
    }
}

/// The id of `api`'s own session, which is this device's id.
async fn current_session(api: &Client) -> E2eeResult<i64> {
    let sessions = api.sessions().await?;
    sessions
        .iter()
        .find(|session| session.current)
        .map(|session| session.id)
        .ok_or_else(|| E2eeError::Malformed("the server lists no current session".into()))
}
