//! A device talking to a Kolokol server: its MLS client, the groups of its encrypted chats, and
//! the delivery service's calls (key packages, claims, commits, Welcomes, messages in seq order).

use std::collections::{BTreeSet, HashMap};

use kolokol_client::proto::{
    Base64Bytes, ChatId, CommitRequest, Message, PublishKeyPackagesRequest, SendMessageRequest,
    Seq, UserId,
};
use kolokol_client::{Client, Page};

use crate::content::{self, Content};
use crate::{DeviceIdentity, E2eeError, E2eeResult, Group, Incoming, MlsClient};

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
}

/// One encrypted chat as this device follows it.
#[derive(Default)]
struct ChatState {
    group: Option<Group>,
    /// Every message of the chat up to here has been processed.
    seen: Seq,
    /// What this device sent: it cannot decrypt its own messages.
    own: BTreeSet<Seq>,
}

/// A signed-in session as an MLS device.
pub struct Device {
    api: Client,
    mls: MlsClient,
    chats: HashMap<ChatId, ChatState>,
    sent: u64,
}

impl Device {
    /// The device of `api`'s session (signed in as `user_id`), with its key packages published.
    pub async fn open(api: Client, user_id: UserId) -> E2eeResult<Device> {
        let sessions = api.sessions().await?;
        let session = sessions
            .iter()
            .find(|session| session.current)
            .ok_or_else(|| E2eeError::Malformed("the server lists no current session".into()))?;
        let identity = DeviceIdentity {
            user_id,
            device_id: session.id,
        };
        let device = Device {
            api,
            mls: MlsClient::new(identity)?,
            chats: HashMap::new(),
            sent: 0,
        };
        device.publish(KEY_PACKAGES, true).await?;
        Ok(device)
    }

    pub fn identity(&self) -> DeviceIdentity {
        self.mls.identity()
    }

    pub fn api(&self) -> &Client {
        &self.api
    }

    async fn publish(&self, count: usize, last_resort: bool) -> E2eeResult<()> {
        let request = PublishKeyPackagesRequest {
            key_packages: (0..count)
                .map(|_| self.mls.key_package(false).map(Base64Bytes))
                .collect::<E2eeResult<_>>()?,
            last_resort: match last_resort {
                true => Some(Base64Bytes(self.mls.key_package(true)?)),
                false => None,
            },
        };
        self.api.publish_key_packages(&request).await?;
        Ok(())
    }

    /// Publishes key packages when others have used most of them.
    pub async fn replenish(&self) -> E2eeResult<()> {
        let status = self.api.key_package_status().await?;
        if status.available < KEY_PACKAGES_LOW {
            let missing = KEY_PACKAGES.saturating_sub(status.available as usize);
            self.publish(missing, !status.last_resort).await?;
        }
        Ok(())
    }

    fn next_id(&mut self, what: &str) -> String {
        self.sent += 1;
        let identity = self.identity();
        format!("{what}-{}-{}", identity.device_id, self.sent)
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
        let request = CommitRequest {
            client_msg_id,
            commit: Base64Bytes(outgoing.commit),
            welcome: outgoing.welcome.map(Base64Bytes),
        };
        match self.api.commit(chat_id, &request).await {
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
        }
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
        group.encrypt(mls, authenticated_data, bytes)
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

    /// Processes one message of the chat, the next after those seen.
    pub fn process(&mut self, chat_id: ChatId, message: Message) -> E2eeResult<Option<Received>> {
        let mls = &self.mls;
        let chat = self
            .chats
            .get_mut(&chat_id)
            .ok_or(E2eeError::NotInGroup(chat_id))?;
        if message.seq <= chat.seen {
            return Ok(None);
        }
        chat.seen = message.seq;
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
