//! [`Client`]: one typed method per REST endpoint of `/api/v1`.

use std::fmt::Write as _;
use std::net::IpAddr;

use kolokol_proto::{
    AckRequest, AckRequestList, AddMembersRequest, Attachment, AuditEntry, AuditLog, AuthResponse,
    BotList, BotToken, BotView, ChangePasswordRequest, Chat, ChatButtonRequest, ChatCommand,
    ChatCommandList, ChatId, ChatList, ChatSettingsRequest, ClaimCodeList, ClaimKeyPackagesRequest,
    ClaimRequest, ClaimResult, ClaimedKeyPackages, CommitRequest, CreateBotRequest,
    CreateChatRequest, CreateInviteRequest, CreateOrgRequest, CreatedBot, DeviceInfo, DeviceList,
    DoNotDisturb, EditMessageRequest, GrantRoleRequest, HeldMessage, HeldMessageList, Invite,
    InviteList, InvitePreview, IssueClaimCodesRequest, KeyPackageStatus, LoginRequest,
    MarkReadRequest, Me, MediaLink, MediaLinks, MediaLinksRequest, Member, MemberList, Message,
    MessageList, MessageReach, Millis, MlsGroupState, MuteRequest, OpenWebAppRequest, OrgId,
    OrgInfo, OrgList, OrgPolicy, OrgRoleList, Pin, PollResults, PollResultsList,
    PressButtonRequest, Profile, PublishKeyPackagesRequest, ReactionRequest, ReactionResult,
    ReadBy, RegisterRequest, ReminderSent, Report, ReportAction, ReportList, ReportRequest,
    ResolveReportRequest, ReviewedChat, ReviewedChatList, RevokedCount, Role, RolloverReport,
    RolloverRequest, RosterReport, RosterView, SendMessageRequest, Seq, Session, SessionList,
    SetRoleRequest, StartBotRequest, ThreadList, ThreadSummary, TransferOwnershipRequest,
    UpdateBotRequest, UpdateChatRequest, UpdateProfileRequest, UploadRequest, UploadState, User,
    UserId, VoteRequest, WebAppLaunch, WelcomeInfo, WelcomeList, WsTicket,
};
use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ClientError;

/// A connection to one Kolokol server, acting as one user (or as nobody before signing in).
///
/// Cloning is cheap and clones share one connection pool: to act as many users, clone one
/// client and give each clone its own token ([`with_token`](Self::with_token),
/// [`register`](Self::register) or [`login`](Self::login)).
///
/// Request bodies of one field are passed as that field (`rename_chat(id, "title")`), larger
/// ones as the `proto` request struct. Likewise responses of one field (`{"chats": […]}`,
/// `{"added": true}`) are returned as that field. Calls check the exact success status the API
/// documents; any other status is an error (see [`ClientError`]).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    local_address: Option<IpAddr>,
}

/// What became of a posted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Stored and sent now (201).
    Sent(Message),
    /// A repeated `client_msg_id`: the message first stored (200).
    Repeated(Message),
    /// Held by quiet hours or do-not-disturb until `release_at` (202).
    Held(HeldMessage),
}

/// Which messages [`Client::messages`] returns; the default is the newest page.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Page {
    /// Only messages with a smaller seq (older).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Seq>,
    /// Only messages with a greater seq (newer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Seq>,
    /// At most this many messages; the server has a default and a maximum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl Client {
    /// A client for the server at `base`, such as `"http://127.0.0.1:8080"` (no `/api/v1`).
    pub fn new(base: impl Into<String>) -> Self {
        let mut base = base.into();
        while base.ends_with('/') {
            base.pop();
        }
        Self {
            http: reqwest::Client::new(),
            base,
            token: None,
            local_address: None,
        }
    }

    /// This client with its connections (REST and WebSocket) made from `address`, such as
    /// `127.0.0.7`. A load generator spreads tens of thousands of connections over several
    /// loopback addresses so that no one address runs out of ports.
    pub fn with_local_address(mut self, address: IpAddr) -> Self {
        self.http = reqwest::Client::builder()
            .local_address(address)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        self.local_address = Some(address);
        self
    }

    pub(crate) fn local_address(&self) -> Option<IpAddr> {
        self.local_address
    }

    /// This client signed in with an existing session token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The session token sent with every request, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The server this client talks to, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends any request, for tests of bad input. `path` is taken from the server root
    /// (`"/api/v1/chats"`, `"/health"`); `body` is a content type and the bytes to send. The
    /// session token goes along as usual. Returns the status and body whatever the status is.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let mut req = self.authorize(self.http.request(method, format!("{}{path}", self.base)));
        if let Some((content_type, bytes)) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.bytes().await?.into()))
    }

    // Accounts and sessions.

    /// `POST /auth/register`. Creates an account and signs this client in as it: the returned
    /// token is used for every later call.
    ///
    /// ```no_run
    /// # async fn demo(base: &str, req: kolokol_client::proto::RegisterRequest) -> Result<(), kolokol_client::ClientError> {
    /// let mut alice = kolokol_client::Client::new(base);
    /// let auth = alice.register(&req).await?;
    /// assert_eq!(alice.me().await?.user, auth.user);
    /// # Ok(()) }
    /// ```
    pub async fn register(&mut self, req: &RegisterRequest) -> Result<AuthResponse, ClientError> {
        let auth: AuthResponse = self
            .json(self.post("/auth/register").json(req), 201)
            .await?;
        self.token = Some(auth.token.clone());
        Ok(auth)
    }

    /// `POST /auth/login`. Opens a new session and signs this client in with it.
    pub async fn login(&mut self, req: &LoginRequest) -> Result<AuthResponse, ClientError> {
        let auth: AuthResponse = self.json(self.post("/auth/login").json(req), 200).await?;
        self.token = Some(auth.token.clone());
        Ok(auth)
    }

    /// `POST /auth/logout`: revokes this client's session. The client keeps the dead token, so
    /// later calls fail with `unauthorized`.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.no_content(self.post("/auth/logout")).await
    }

    /// `POST /auth/password`. Also revokes every other session of the user.
    pub async fn change_password(&self, req: &ChangePasswordRequest) -> Result<(), ClientError> {
        self.no_content(self.post("/auth/password").json(req)).await
    }

    /// `GET /me`: your own profile, with your username and privacy choices.
    pub async fn me(&self) -> Result<Me, ClientError> {
        self.json(self.get("/me"), 200).await
    }

    /// `PATCH /me`.
    pub async fn update_profile(&self, req: &UpdateProfileRequest) -> Result<Profile, ClientError> {
        self.json(self.patch("/me").json(req), 200).await
    }

    /// `GET /users/{user_id}`.
    pub async fn user(&self, user_id: UserId) -> Result<User, ClientError> {
        self.json(self.get(&format!("/users/{user_id}")), 200).await
    }

    /// `GET /users/by-username/{username}`.
    pub async fn user_by_username(&self, username: &str) -> Result<User, ClientError> {
        let path = format!("/users/by-username/{}", escape(username));
        self.json(self.get(&path), 200).await
    }

    /// `GET /sessions`: the user's signed-in devices.
    pub async fn sessions(&self) -> Result<Vec<Session>, ClientError> {
        let list: SessionList = self.json(self.get("/sessions"), 200).await?;
        Ok(list.sessions)
    }

    /// `DELETE /sessions/{session_id}`.
    pub async fn revoke_session(&self, session_id: i64) -> Result<(), ClientError> {
        self.no_content(self.delete(&format!("/sessions/{session_id}")))
            .await
    }

    /// `POST /sessions/revoke-others`: returns how many sessions were revoked.
    pub async fn revoke_other_sessions(&self) -> Result<u64, ClientError> {
        let count: RevokedCount = self.json(self.post("/sessions/revoke-others"), 200).await?;
        Ok(count.revoked)
    }

    /// `POST /ws/ticket`: a one-time ticket for
    /// [`connect_events_with_ticket`](Self::connect_events_with_ticket).
    pub async fn ws_ticket(&self) -> Result<WsTicket, ClientError> {
        self.json(self.post("/ws/ticket"), 200).await
    }

    // Chats and members.

    /// `POST /chats`. Returns the chat and whether it was created (201) rather than an existing
    /// direct chat with the same person (200).
    pub async fn create_chat(&self, req: &CreateChatRequest) -> Result<(Chat, bool), ClientError> {
        self.created(self.post("/chats").json(req)).await
    }

    /// `GET /chats`: the user's chats, most recently active first.
    pub async fn chats(&self) -> Result<Vec<Chat>, ClientError> {
        let list: ChatList = self.json(self.get("/chats"), 200).await?;
        Ok(list.chats)
    }

    /// `GET /chats/{chat_id}`.
    pub async fn chat(&self, chat_id: ChatId) -> Result<Chat, ClientError> {
        self.json(self.get(&format!("/chats/{chat_id}")), 200).await
    }

    /// `PATCH /chats/{chat_id}`: sets the title of a group or channel.
    pub async fn rename_chat(&self, chat_id: ChatId, title: &str) -> Result<Chat, ClientError> {
        let body = UpdateChatRequest {
            title: title.to_owned(),
        };
        self.json(self.patch(&format!("/chats/{chat_id}")).json(&body), 200)
            .await
    }

    /// `GET /chats/{chat_id}/members`.
    pub async fn members(&self, chat_id: ChatId) -> Result<Vec<Member>, ClientError> {
        let list: MemberList = self
            .json(self.get(&format!("/chats/{chat_id}/members")), 200)
            .await?;
        Ok(list.members)
    }

    /// `POST /chats/{chat_id}/members`.
    pub async fn add_members(
        &self,
        chat_id: ChatId,
        user_ids: &[UserId],
    ) -> Result<(), ClientError> {
        let body = AddMembersRequest {
            user_ids: user_ids.to_vec(),
        };
        self.no_content(self.post(&format!("/chats/{chat_id}/members")).json(&body))
            .await
    }

    /// `DELETE /chats/{chat_id}/members/{user_id}`: removes a member (or leaves, for oneself).
    pub async fn remove_member(&self, chat_id: ChatId, user_id: UserId) -> Result<(), ClientError> {
        self.no_content(self.delete(&format!("/chats/{chat_id}/members/{user_id}")))
            .await
    }

    /// `PATCH /chats/{chat_id}/members/{user_id}`.
    pub async fn set_role(
        &self,
        chat_id: ChatId,
        user_id: UserId,
        role: Role,
    ) -> Result<(), ClientError> {
        let path = format!("/chats/{chat_id}/members/{user_id}");
        self.no_content(self.patch(&path).json(&SetRoleRequest { role }))
            .await
    }

    /// `DELETE /chats/{chat_id}`: the owner deletes a group or channel for everyone.
    pub async fn delete_chat(&self, chat_id: ChatId) -> Result<(), ClientError> {
        self.no_content(self.delete(&format!("/chats/{chat_id}")))
            .await
    }

    /// `POST /chats/{chat_id}/leave`.
    pub async fn leave_chat(&self, chat_id: ChatId) -> Result<(), ClientError> {
        self.no_content(self.post(&format!("/chats/{chat_id}/leave")))
            .await
    }

    /// `POST /chats/{chat_id}/transfer`: makes `user_id` the owner.
    pub async fn transfer_ownership(
        &self,
        chat_id: ChatId,
        user_id: UserId,
    ) -> Result<(), ClientError> {
        let body = TransferOwnershipRequest { user_id };
        self.no_content(self.post(&format!("/chats/{chat_id}/transfer")).json(&body))
            .await
    }

    // Invites.

    /// `POST /chats/{chat_id}/invites`.
    pub async fn create_invite(
        &self,
        chat_id: ChatId,
        req: &CreateInviteRequest,
    ) -> Result<Invite, ClientError> {
        self.json(
            self.post(&format!("/chats/{chat_id}/invites")).json(req),
            201,
        )
        .await
    }

    /// `GET /chats/{chat_id}/invites`.
    pub async fn invites(&self, chat_id: ChatId) -> Result<Vec<Invite>, ClientError> {
        let list: InviteList = self
            .json(self.get(&format!("/chats/{chat_id}/invites")), 200)
            .await?;
        Ok(list.invites)
    }

    /// `DELETE /chats/{chat_id}/invites/{code}`.
    pub async fn revoke_invite(&self, chat_id: ChatId, code: &str) -> Result<(), ClientError> {
        let path = format!("/chats/{chat_id}/invites/{}", escape(code));
        self.no_content(self.delete(&path)).await
    }

    /// `GET /invites/{code}`: needs no session.
    pub async fn invite_preview(&self, code: &str) -> Result<InvitePreview, ClientError> {
        self.json(self.get(&format!("/invites/{}", escape(code))), 200)
            .await
    }

    /// `POST /invites/{code}/join`: returns the chat joined.
    pub async fn join_by_invite(&self, code: &str) -> Result<Chat, ClientError> {
        self.json(self.post(&format!("/invites/{}/join", escape(code))), 200)
            .await
    }

    // Messages.

    /// `POST /chats/{chat_id}/messages`, expecting the message to go out now. Returns the
    /// message and whether it was created (201) rather than found by a repeated
    /// `client_msg_id` (200); a message held by quiet hours is an error here (see
    /// [`post_message`](Self::post_message)).
    pub async fn send_message(
        &self,
        chat_id: ChatId,
        req: &SendMessageRequest,
    ) -> Result<(Message, bool), ClientError> {
        self.created(self.post(&format!("/chats/{chat_id}/messages")).json(req))
            .await
    }

    /// `POST /chats/{chat_id}/messages`, where the message may be held by quiet hours or
    /// do-not-disturb (202).
    pub async fn post_message(
        &self,
        chat_id: ChatId,
        req: &SendMessageRequest,
    ) -> Result<Posted, ClientError> {
        let request = self.post(&format!("/chats/{chat_id}/messages")).json(req);
        match self.send_any(request).await? {
            (201, body) => Ok(Posted::Sent(decode(&body)?)),
            (200, body) => Ok(Posted::Repeated(decode(&body)?)),
            (202, body) => Ok(Posted::Held(decode(&body)?)),
            (status, _) => Err(ClientError::Decode(format!(
                "HTTP {status} where 200, 201 or 202 was expected"
            ))),
        }
    }

    /// `PATCH /chats/{chat_id}/settings`: who may post, slow mode.
    pub async fn set_chat_settings(
        &self,
        chat_id: ChatId,
        settings: &ChatSettingsRequest,
    ) -> Result<Chat, ClientError> {
        let req = self
            .patch(&format!("/chats/{chat_id}/settings"))
            .json(settings);
        self.json(req, 200).await
    }

    /// `PUT /chats/{chat_id}/members/{user_id}/mute`: until a time, or `None` to unmute.
    pub async fn mute(
        &self,
        chat_id: ChatId,
        user_id: UserId,
        until: Option<Millis>,
    ) -> Result<(), ClientError> {
        let req = self
            .request(
                Method::PUT,
                &format!("/chats/{chat_id}/members/{user_id}/mute"),
            )
            .json(&MuteRequest { until });
        self.no_content(req).await
    }

    /// `GET /chats/{chat_id}/pin`: the pinned message's seq.
    pub async fn pinned(&self, chat_id: ChatId) -> Result<Option<Seq>, ClientError> {
        let pin: Pin = self
            .json(self.get(&format!("/chats/{chat_id}/pin")), 200)
            .await?;
        Ok(pin.seq)
    }

    /// `PUT /chats/{chat_id}/pin`: pins message `seq`, or with `None` takes the pin down.
    pub async fn pin(&self, chat_id: ChatId, seq: Option<Seq>) -> Result<(), ClientError> {
        let req = self
            .request(Method::PUT, &format!("/chats/{chat_id}/pin"))
            .json(&Pin { seq });
        self.send(req, 200).await.map(drop)
    }

    /// `GET /chats/{chat_id}/threads`: every thread of the chat.
    pub async fn threads(&self, chat_id: ChatId) -> Result<Vec<ThreadSummary>, ClientError> {
        let list: ThreadList = self
            .json(self.get(&format!("/chats/{chat_id}/threads")), 200)
            .await?;
        Ok(list.threads)
    }

    /// `GET /chats/{chat_id}/threads/{root}?after=`: replies in the thread, oldest first.
    pub async fn thread(
        &self,
        chat_id: ChatId,
        root: Seq,
        after: Option<Seq>,
    ) -> Result<Vec<Message>, ClientError> {
        let mut req = self.get(&format!("/chats/{chat_id}/threads/{root}"));
        if let Some(after) = after {
            req = req.query(&[("after", after)]);
        }
        let list: MessageList = self.json(req, 200).await?;
        Ok(list.messages)
    }

    /// `GET /chats/{chat_id}/polls`: every poll of the chat with its results.
    pub async fn polls(&self, chat_id: ChatId) -> Result<Vec<PollResults>, ClientError> {
        let list: PollResultsList = self
            .json(self.get(&format!("/chats/{chat_id}/polls")), 200)
            .await?;
        Ok(list.polls)
    }

    /// `POST /chats/{chat_id}/messages/{seq}/vote`: replaces the caller's vote.
    pub async fn vote(
        &self,
        chat_id: ChatId,
        seq: Seq,
        options: Vec<u32>,
    ) -> Result<PollResults, ClientError> {
        let path = format!("/chats/{chat_id}/messages/{seq}/vote");
        self.json(self.post(&path).json(&VoteRequest { options }), 200)
            .await
    }

    /// `GET /chats/{chat_id}/held`: the caller's messages waiting to go out.
    pub async fn held_messages(&self, chat_id: ChatId) -> Result<Vec<HeldMessage>, ClientError> {
        let list: HeldMessageList = self
            .json(self.get(&format!("/chats/{chat_id}/held")), 200)
            .await?;
        Ok(list.messages)
    }

    /// `DELETE /chats/{chat_id}/held/{held_id}`.
    pub async fn cancel_held(&self, chat_id: ChatId, held_id: i64) -> Result<(), ClientError> {
        self.no_content(self.delete(&format!("/chats/{chat_id}/held/{held_id}")))
            .await
    }

    /// `GET /chats/{chat_id}/messages?before=&after=&limit=`.
    pub async fn messages(&self, chat_id: ChatId, page: Page) -> Result<Vec<Message>, ClientError> {
        let req = self.get(&format!("/chats/{chat_id}/messages")).query(&page);
        let list: MessageList = self.json(req, 200).await?;
        Ok(list.messages)
    }

    /// `PATCH /chats/{chat_id}/messages/{seq}`.
    pub async fn edit_message(
        &self,
        chat_id: ChatId,
        seq: Seq,
        text: &str,
    ) -> Result<Message, ClientError> {
        let body = EditMessageRequest {
            text: text.to_owned(),
        };
        let path = format!("/chats/{chat_id}/messages/{seq}");
        self.json(self.patch(&path).json(&body), 200).await
    }

    /// `DELETE /chats/{chat_id}/messages/{seq}`.
    pub async fn delete_message(&self, chat_id: ChatId, seq: Seq) -> Result<(), ClientError> {
        self.no_content(self.delete(&format!("/chats/{chat_id}/messages/{seq}")))
            .await
    }

    /// `POST /chats/{chat_id}/messages/{seq}/reactions`: adds the reaction, or removes it if the
    /// user already gave it. Returns true when it was added.
    pub async fn toggle_reaction(
        &self,
        chat_id: ChatId,
        seq: Seq,
        emoji: &str,
    ) -> Result<bool, ClientError> {
        let body = ReactionRequest {
            emoji: emoji.to_owned(),
        };
        let path = format!("/chats/{chat_id}/messages/{seq}/reactions");
        let result: ReactionResult = self.json(self.post(&path).json(&body), 200).await?;
        Ok(result.added)
    }

    /// `GET /chats/{chat_id}/messages/{seq}/read-by`: the members who have read the message.
    pub async fn read_by(&self, chat_id: ChatId, seq: Seq) -> Result<Vec<UserId>, ClientError> {
        let path = format!("/chats/{chat_id}/messages/{seq}/read-by");
        let read_by: ReadBy = self.json(self.get(&path), 200).await?;
        Ok(read_by.user_ids)
    }

    /// `POST /chats/{chat_id}/read`: marks every message up to `seq` read.
    pub async fn mark_read(&self, chat_id: ChatId, seq: Seq) -> Result<(), ClientError> {
        let body = MarkReadRequest { seq };
        self.no_content(self.post(&format!("/chats/{chat_id}/read")).json(&body))
            .await
    }

    /// `POST /chats/{chat_id}/typing`.
    pub async fn typing(&self, chat_id: ChatId) -> Result<(), ClientError> {
        self.no_content(self.post(&format!("/chats/{chat_id}/typing")))
            .await
    }

    // Organisations.

    /// `POST /orgs`: creates an org with the caller as its admin (instance admins only).
    pub async fn create_org(
        &self,
        name: &str,
        time_zone: Option<&str>,
    ) -> Result<OrgInfo, ClientError> {
        let body = CreateOrgRequest {
            name: name.to_owned(),
            time_zone: time_zone.map(str::to_owned),
        };
        self.json(self.post("/orgs").json(&body), 201).await
    }

    /// `GET /orgs`: the caller's organisations.
    pub async fn orgs(&self) -> Result<Vec<OrgInfo>, ClientError> {
        let list: OrgList = self.json(self.get("/orgs"), 200).await?;
        Ok(list.orgs)
    }

    /// `GET /orgs/{org_id}/roster`.
    pub async fn roster(&self, org_id: OrgId) -> Result<RosterView, ClientError> {
        self.json(self.get(&format!("/orgs/{org_id}/roster")), 200)
            .await
    }

    /// `PUT /orgs/{org_id}/roster?dry_run=`: imports a roster CSV file.
    pub async fn import_roster(
        &self,
        org_id: OrgId,
        csv: Vec<u8>,
        dry_run: bool,
    ) -> Result<RosterReport, ClientError> {
        let req = self
            .request(Method::PUT, &format!("/orgs/{org_id}/roster"))
            .query(&[("dry_run", dry_run)])
            .header(reqwest::header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .body(csv);
        self.json(req, 200).await
    }

    /// `POST /orgs/{org_id}/claim-codes`: new codes, shown only in this answer.
    pub async fn issue_claim_codes(
        &self,
        org_id: OrgId,
        request: &IssueClaimCodesRequest,
    ) -> Result<ClaimCodeList, ClientError> {
        let path = format!("/orgs/{org_id}/claim-codes");
        self.json(self.post(&path).json(request), 200).await
    }

    /// `GET /chats/{chat_id}/acks`: the messages asking for an acknowledgement.
    pub async fn ack_requests(&self, chat_id: ChatId) -> Result<Vec<AckRequest>, ClientError> {
        let list: AckRequestList = self
            .json(self.get(&format!("/chats/{chat_id}/acks")), 200)
            .await?;
        Ok(list.requests)
    }

    /// `POST /chats/{chat_id}/messages/{seq}/ack`.
    pub async fn acknowledge(&self, chat_id: ChatId, seq: Seq) -> Result<(), ClientError> {
        self.no_content(self.post(&format!("/chats/{chat_id}/messages/{seq}/ack")))
            .await
    }

    /// `GET /chats/{chat_id}/messages/{seq}/reach`: who has read it, per family in school chats.
    pub async fn message_reach(
        &self,
        chat_id: ChatId,
        seq: Seq,
    ) -> Result<MessageReach, ClientError> {
        let path = format!("/chats/{chat_id}/messages/{seq}/reach");
        self.json(self.get(&path), 200).await
    }

    /// `POST /chats/{chat_id}/messages/{seq}/remind`: reminds those who have not read it;
    /// returns how many.
    pub async fn remind(&self, chat_id: ChatId, seq: Seq) -> Result<u32, ClientError> {
        let path = format!("/chats/{chat_id}/messages/{seq}/remind");
        let sent: ReminderSent = self.json(self.post(&path), 200).await?;
        Ok(sent.reminded)
    }

    /// `POST /chats/{chat_id}/messages/{seq}/report`: to the org that keeps the chat.
    pub async fn report(&self, chat_id: ChatId, seq: Seq, reason: &str) -> Result<(), ClientError> {
        self.report_disclosing(chat_id, seq, reason, None).await
    }

    /// [`Client::report`] of a message of an encrypted chat, disclosing its decrypted content.
    pub async fn report_disclosing(
        &self,
        chat_id: ChatId,
        seq: Seq,
        reason: &str,
        disclosure: Option<Vec<u8>>,
    ) -> Result<(), ClientError> {
        let path = format!("/chats/{chat_id}/messages/{seq}/report");
        let body = ReportRequest {
            reason: reason.to_owned(),
            disclosure: disclosure.map(kolokol_proto::Base64Bytes),
        };
        self.no_content(self.post(&path).json(&body)).await
    }

    /// `GET /orgs/{org_id}/reports?all=`: the org's moderation queue.
    pub async fn reports(&self, org_id: OrgId, all: bool) -> Result<Vec<Report>, ClientError> {
        let req = self
            .get(&format!("/orgs/{org_id}/reports"))
            .query(&[("all", all)]);
        let list: ReportList = self.json(req, 200).await?;
        Ok(list.reports)
    }

    /// `POST /orgs/{org_id}/reports/{report_id}/resolve`.
    pub async fn resolve_report(
        &self,
        org_id: OrgId,
        report_id: i64,
        action: ReportAction,
    ) -> Result<Report, ClientError> {
        let path = format!("/orgs/{org_id}/reports/{report_id}/resolve");
        let body = ResolveReportRequest { action };
        self.json(self.post(&path).json(&body), 200).await
    }

    /// `GET /orgs/{org_id}/audit?before=`: newest first.
    pub async fn audit_log(
        &self,
        org_id: OrgId,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>, ClientError> {
        let mut req = self.get(&format!("/orgs/{org_id}/audit"));
        if let Some(before) = before {
            req = req.query(&[("before", before)]);
        }
        let log: AuditLog = self.json(req, 200).await?;
        Ok(log.entries)
    }

    /// `POST /orgs/{org_id}/rollover`: the year-end move up a grade.
    pub async fn rollover(
        &self,
        org_id: OrgId,
        request: &RolloverRequest,
    ) -> Result<RolloverReport, ClientError> {
        let path = format!("/orgs/{org_id}/rollover");
        self.json(self.post(&path).json(request), 200).await
    }

    /// `POST /bots`: a new bot and its token (shown only now).
    pub async fn create_bot(&self, req: &CreateBotRequest) -> Result<CreatedBot, ClientError> {
        self.json(self.post("/bots").json(req), 201).await
    }

    /// `GET /bots`: the bots you made.
    pub async fn bots(&self) -> Result<Vec<BotView>, ClientError> {
        let list: BotList = self.json(self.get("/bots"), 200).await?;
        Ok(list.bots)
    }

    /// `POST /bots/{bot_id}/token`: a new token; the old one stops working.
    pub async fn reset_bot_token(&self, bot_id: UserId) -> Result<String, ClientError> {
        let answer: BotToken = self
            .json(self.post(&format!("/bots/{bot_id}/token")), 200)
            .await?;
        Ok(answer.token)
    }

    /// `POST /bots/by-username/{username}/start`: opens the bot's chat and tells the bot.
    pub async fn start_bot(
        &self,
        username: &str,
        payload: Option<&str>,
    ) -> Result<Chat, ClientError> {
        let body = StartBotRequest {
            payload: payload.map(str::to_owned),
        };
        let path = format!("/bots/by-username/{}/start", escape(username));
        self.json(self.post(&path).json(&body), 200).await
    }

    /// `POST /chats/{chat_id}/messages/{seq}/callback`: presses the callback button with this
    /// payload under a bot's message; the answer comes as `callback.answered`.
    pub async fn press_button(
        &self,
        chat_id: ChatId,
        seq: Seq,
        payload: &str,
    ) -> Result<(), ClientError> {
        let body = PressButtonRequest {
            payload: payload.to_owned(),
        };
        let path = format!("/chats/{chat_id}/messages/{seq}/callback");
        self.no_content(self.post(&path).json(&body)).await
    }

    /// `POST /media/links`: signed links to files shown in a chat (see [`Client::download`]).
    pub async fn media_links(
        &self,
        chat_id: ChatId,
        ids: Vec<i64>,
    ) -> Result<Vec<MediaLink>, ClientError> {
        let body = MediaLinksRequest { chat_id, ids };
        let links: MediaLinks = self
            .json(self.post("/media/links").json(&body), 200)
            .await?;
        Ok(links.links)
    }

    /// The bytes behind a link from [`Client::media_links`] (no session token is needed).
    pub async fn download(&self, link: &str) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}{link}", self.base);
        let (_, bytes) = self.send_any(self.http.get(url)).await?;
        Ok(bytes)
    }

    /// `POST /chats/{chat_id}/uploads`: begins an upload; the bytes follow with
    /// [`Client::put_upload_piece`].
    pub async fn begin_upload(
        &self,
        chat_id: ChatId,
        request: &UploadRequest,
    ) -> Result<UploadState, ClientError> {
        let path = format!("/chats/{chat_id}/uploads");
        self.json(self.post(&path).json(request), 201).await
    }

    /// `PUT /uploads/{id}` with `Content-Range`: one piece of a file of `total` bytes, starting
    /// at byte `first`. The file once it is whole, else where the upload stands.
    pub async fn put_upload_piece(
        &self,
        id: i64,
        first: u64,
        piece: Vec<u8>,
        total: u64,
    ) -> Result<Result<Attachment, UploadState>, ClientError> {
        if piece.is_empty() {
            return Err(ClientError::Decode("an upload piece is never empty".into()));
        }
        let last = first + piece.len() as u64 - 1;
        let request = self
            .request(Method::PUT, &format!("/uploads/{id}"))
            .header("Content-Range", format!("bytes {first}-{last}/{total}"))
            .body(piece);
        match self.send_any(request).await? {
            (201, body) => Ok(Ok(decode(&body)?)),
            (_, body) => Ok(Err(decode(&body)?)),
        }
    }

    /// `GET /uploads/{id}`: where an upload stands, to resume it.
    pub async fn upload_state(&self, id: i64) -> Result<UploadState, ClientError> {
        self.json(self.get(&format!("/uploads/{id}")), 200).await
    }

    /// `DELETE /uploads/{id}`: cancels an upload.
    pub async fn cancel_upload(&self, id: i64) -> Result<(), ClientError> {
        self.no_content(self.delete(&format!("/uploads/{id}")))
            .await
    }

    /// Uploads `bytes` into a chat in pieces of at most `piece` bytes; the file, to send by its
    /// id in a message's `attachments`.
    pub async fn upload(
        &self,
        chat_id: ChatId,
        request: &UploadRequest,
        bytes: &[u8],
        piece: usize,
    ) -> Result<Attachment, ClientError> {
        let upload = self.begin_upload(chat_id, request).await?;
        let mut first = 0;
        for chunk in bytes.chunks(piece.max(1)) {
            let sent = self
                .put_upload_piece(upload.id, first, chunk.to_vec(), bytes.len() as u64)
                .await?;
            if let Ok(file) = sent {
                return Ok(file);
            }
            first += chunk.len() as u64;
        }
        Err(ClientError::Decode(
            "the server did not complete the upload".into(),
        ))
    }

    /// `PATCH /bots/{bot_id}`: sets (or, with `None`, removes) your bot's mini-app address.
    pub async fn set_bot_web_app(
        &self,
        bot_id: UserId,
        url: Option<&str>,
    ) -> Result<BotView, ClientError> {
        let body = UpdateBotRequest {
            web_app_url: url.map(str::to_owned),
        };
        self.json(self.patch(&format!("/bots/{bot_id}")).json(&body), 200)
            .await
    }

    /// `POST /bots/by-username/{username}/web-app`: where the bot's mini-app is, and the signed
    /// initData it is opened with.
    pub async fn open_web_app(
        &self,
        username: &str,
        request: &OpenWebAppRequest,
    ) -> Result<WebAppLaunch, ClientError> {
        let path = format!("/bots/by-username/{}/web-app", escape(username));
        self.json(self.post(&path).json(request), 200).await
    }

    /// `POST /chats/{chat_id}/messages/{seq}/chat-button`: presses the `chat` button at
    /// `row`, `column` of a bot's message; the group it stands for, which you are now in.
    pub async fn press_chat_button(
        &self,
        chat_id: ChatId,
        seq: Seq,
        row: usize,
        column: usize,
    ) -> Result<Chat, ClientError> {
        let body = ChatButtonRequest { row, column };
        let path = format!("/chats/{chat_id}/messages/{seq}/chat-button");
        self.json(self.post(&path).json(&body), 200).await
    }

    /// `GET /chats/{chat_id}/commands`: what the chat's bots offer after "/".
    pub async fn chat_commands(&self, chat_id: ChatId) -> Result<Vec<ChatCommand>, ClientError> {
        let list: ChatCommandList = self
            .json(self.get(&format!("/chats/{chat_id}/commands")), 200)
            .await?;
        Ok(list.commands)
    }

    /// `GET /orgs/{org_id}/bots`: the bots the org approved.
    pub async fn allowed_bots(&self, org_id: OrgId) -> Result<Vec<BotView>, ClientError> {
        let list: BotList = self
            .json(self.get(&format!("/orgs/{org_id}/bots")), 200)
            .await?;
        Ok(list.bots)
    }

    /// `PUT /orgs/{org_id}/bots/{username}`: approve a bot for the org.
    pub async fn allow_bot(&self, org_id: OrgId, username: &str) -> Result<(), ClientError> {
        let path = format!("/orgs/{org_id}/bots/{}", escape(username));
        self.no_content(self.request(Method::PUT, &path)).await
    }

    /// `DELETE /orgs/{org_id}/bots/{bot_id}`: withdraw the approval.
    pub async fn disallow_bot(&self, org_id: OrgId, bot_id: UserId) -> Result<(), ClientError> {
        let path = format!("/orgs/{org_id}/bots/{bot_id}");
        self.no_content(self.request(Method::DELETE, &path)).await
    }

    /// `GET /orgs/{org_id}/roles`: who holds the org's roles.
    pub async fn org_roles(&self, org_id: OrgId) -> Result<OrgRoleList, ClientError> {
        self.json(self.get(&format!("/orgs/{org_id}/roles")), 200)
            .await
    }

    /// `POST /orgs/{org_id}/roles`: `admin` or `safeguarding_lead` for an account.
    pub async fn grant_org_role(
        &self,
        org_id: OrgId,
        username: &str,
        role: &str,
    ) -> Result<(), ClientError> {
        let body = GrantRoleRequest {
            username: username.to_owned(),
            role: role.to_owned(),
        };
        self.no_content(self.post(&format!("/orgs/{org_id}/roles")).json(&body))
            .await
    }

    /// `DELETE /orgs/{org_id}/roles/{user_id}/{role}`.
    pub async fn revoke_org_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: &str,
    ) -> Result<(), ClientError> {
        let path = format!("/orgs/{org_id}/roles/{user_id}/{}", escape(role));
        self.no_content(self.delete(&path)).await
    }

    /// `GET /orgs/{org_id}/safeguarding/chats`: staff–student direct chats, for the lead.
    pub async fn reviewed_chats(&self, org_id: OrgId) -> Result<Vec<ReviewedChat>, ClientError> {
        let path = format!("/orgs/{org_id}/safeguarding/chats");
        let list: ReviewedChatList = self.json(self.get(&path), 200).await?;
        Ok(list.chats)
    }

    /// `GET /orgs/{org_id}/safeguarding/chats/{chat_id}/messages`: the newest page.
    pub async fn review_chat(
        &self,
        org_id: OrgId,
        chat_id: ChatId,
    ) -> Result<Vec<Message>, ClientError> {
        let path = format!("/orgs/{org_id}/safeguarding/chats/{chat_id}/messages");
        let list: MessageList = self.json(self.get(&path), 200).await?;
        Ok(list.messages)
    }

    /// `PUT /orgs/{org_id}/policy`.
    pub async fn set_org_policy(
        &self,
        org_id: OrgId,
        policy: &OrgPolicy,
    ) -> Result<OrgInfo, ClientError> {
        let req = self
            .request(Method::PUT, &format!("/orgs/{org_id}/policy"))
            .json(policy);
        self.json(req, 200).await
    }

    /// `GET /me/dnd`: when the caller's do-not-disturb ends, if it is on.
    pub async fn do_not_disturb(&self) -> Result<Option<Millis>, ClientError> {
        let dnd: DoNotDisturb = self.json(self.get("/me/dnd"), 200).await?;
        Ok(dnd.until)
    }

    /// `PUT /me/dnd`: do-not-disturb until `until`, or off with `None`.
    pub async fn set_do_not_disturb(&self, until: Option<Millis>) -> Result<(), ClientError> {
        let req = self
            .request(Method::PUT, "/me/dnd")
            .json(&DoNotDisturb { until });
        self.send(req, 200).await.map(drop)
    }

    /// `POST /claim`: links this account to the roster person of `code`.
    pub async fn claim(&self, code: &str) -> Result<ClaimResult, ClientError> {
        let body = ClaimRequest {
            code: code.to_owned(),
        };
        self.json(self.post("/claim").json(&body), 200).await
    }

    // Service.

    /// `GET /openapi.json`: the OpenAPI document.
    pub async fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        self.json(self.get("/openapi.json"), 200).await
    }

    /// `GET /health` (at the server root): succeeds once the server is up.
    pub async fn health(&self) -> Result<(), ClientError> {
        let req = self.http.get(format!("{}/health", self.base));
        self.send(req, 200).await.map(drop)
    }

    // Plumbing.

    fn authorize(&self, req: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let url = format!("{}/api/v1{path}", self.base);
        self.authorize(self.http.request(method, url))
    }

    // --- end-to-end encryption (MLS): the delivery service's calls; the MLS itself is the
    // caller's (kolokol-e2ee in Rust) ---

    /// `POST /mls/key-packages`: publishes this session's (device's) key packages.
    pub async fn publish_key_packages(
        &self,
        req: &PublishKeyPackagesRequest,
    ) -> Result<KeyPackageStatus, ClientError> {
        self.json(self.post("/mls/key-packages").json(req), 201)
            .await
    }

    /// `GET /mls/key-packages`: how many this device has left.
    pub async fn key_package_status(&self) -> Result<KeyPackageStatus, ClientError> {
        self.json(self.get("/mls/key-packages"), 200).await
    }

    /// `GET /users/{user_id}/devices`.
    pub async fn devices(&self, user_id: UserId) -> Result<Vec<DeviceInfo>, ClientError> {
        let list: DeviceList = self
            .json(self.get(&format!("/users/{user_id}/devices")), 200)
            .await?;
        Ok(list.devices)
    }

    /// `GET /chats/{chat_id}/mls`: the encrypted chat's group as the server sees it.
    pub async fn mls_group(&self, chat_id: ChatId) -> Result<MlsGroupState, ClientError> {
        self.json(self.get(&format!("/chats/{chat_id}/mls")), 200)
            .await
    }

    /// `POST /chats/{chat_id}/mls/key-packages/claim`: key packages of devices waiting to be
    /// added (of `devices`, or all).
    pub async fn claim_key_packages(
        &self,
        chat_id: ChatId,
        devices: Option<Vec<i64>>,
    ) -> Result<ClaimedKeyPackages, ClientError> {
        let req = ClaimKeyPackagesRequest { devices };
        let path = format!("/chats/{chat_id}/mls/key-packages/claim");
        self.json(self.post(&path).json(&req), 200).await
    }

    /// `POST /chats/{chat_id}/mls/commits`: the commit as the chat's next message (and whether
    /// it is new).
    pub async fn commit(
        &self,
        chat_id: ChatId,
        req: &CommitRequest,
    ) -> Result<(Message, bool), ClientError> {
        self.created(
            self.post(&format!("/chats/{chat_id}/mls/commits"))
                .json(req),
        )
        .await
    }

    /// `GET /mls/welcomes`: Welcomes waiting for this device.
    pub async fn welcomes(&self) -> Result<Vec<WelcomeInfo>, ClientError> {
        let list: WelcomeList = self.json(self.get("/mls/welcomes"), 200).await?;
        Ok(list.welcomes)
    }

    /// `DELETE /mls/devices/me`: this session lost its MLS state and starts as a new device.
    pub async fn forget_device(&self) -> Result<(), ClientError> {
        self.no_content(self.delete("/mls/devices/me")).await
    }

    /// `DELETE /mls/welcomes/{welcome_id}`.
    pub async fn forget_welcome(&self, welcome_id: i64) -> Result<(), ClientError> {
        self.no_content(self.delete(&format!("/mls/welcomes/{welcome_id}")))
            .await
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// Sends `req` and returns the body, failing unless the status is `expected`.
    async fn send(&self, req: RequestBuilder, expected: u16) -> Result<Vec<u8>, ClientError> {
        let (status, body) = self.send_any(req).await?;
        if status != expected {
            return Err(ClientError::Decode(format!(
                "HTTP {status} where {expected} was expected"
            )));
        }
        Ok(body)
    }

    /// Sends `req`; an error status becomes an error, any success status is returned.
    async fn send_any(&self, req: RequestBuilder) -> Result<(u16, Vec<u8>), ClientError> {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let body: Vec<u8> = resp.bytes().await?.into();
        if !(200..300).contains(&status) {
            return Err(ClientError::from_response(status, &body));
        }
        Ok((status, body))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        expected: u16,
    ) -> Result<T, ClientError> {
        decode(&self.send(req, expected).await?)
    }

    async fn no_content(&self, req: RequestBuilder) -> Result<(), ClientError> {
        self.send(req, 204).await.map(drop)
    }

    /// For endpoints answering 201 with a new resource or 200 with an existing one.
    async fn created<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
    ) -> Result<(T, bool), ClientError> {
        match self.send_any(req).await? {
            (201, body) => Ok((decode(&body)?, true)),
            (200, body) => Ok((decode(&body)?, false)),
            (status, _) => Err(ClientError::Decode(format!(
                "HTTP {status} where 200 or 201 was expected"
            ))),
        }
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body)
        .map_err(|err| ClientError::Decode(format!("{err} in {}", String::from_utf8_lossy(body))))
}

/// Percent-encodes `segment` for use as one path segment: only unreserved characters
/// (RFC 3986) are kept as they are.
fn escape(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            write!(out, "%{byte:02X}").expect("writing to a String cannot fail");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(escape("anna.k_1"), "anna.k_1");
        assert_eq!(escape("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(escape("я"), "%D1%8F");
    }

    #[test]
    fn base_loses_trailing_slashes() {
        assert_eq!(
            Client::new("http://127.0.0.1:1//").base(),
            "http://127.0.0.1:1"
        );
    }
}
