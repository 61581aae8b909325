//! The MLS delivery service's endpoints: devices' key packages, chats' groups, commits and
//! Welcomes. Application messages go through `POST /chats/{id}/messages` like every message.

use axum::extract::State;
use axum::http::StatusCode;
use kolokol_domain::{mls as rules, time, validate};
use kolokol_proto::{
    Base64Bytes, ChatId, ClaimKeyPackagesRequest, ClaimedKeyPackage, ClaimedKeyPackages,
    CommitRequest, DeviceInfo, DeviceList, ErrorBody, ErrorCode, KeyPackageStatus, Message,
    MlsDevice, MlsGroupState, MlsLeaf, PublishKeyPackagesRequest, UserId, WelcomeInfo, WelcomeList,
};
use kolokol_store::{KeyPackageBatch, KeyPackageCount, NewCommit};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Json, Path};
use crate::mls::check;
use crate::safeguarding::may_find;
use crate::state::AppState;

/// Key packages one request may publish.
pub const MAX_KEY_PACKAGES_PER_REQUEST: usize = 100;
/// A commit adding 500 members is about 170 KB and its Welcome as much, a third more in base64.
pub const MAX_COMMIT_BODY_BYTES: usize = 4 << 20;

fn status(count: KeyPackageCount) -> KeyPackageStatus {
    KeyPackageStatus {
        available: count.available,
        last_resort: count.last_resort,
        low: count.low(),
    }
}

/// Publish key packages of this device (this session), so others can add it to encrypted
/// chats. The first call registers the device's signing key; every package must carry it.
#[utoipa::path(post, path = "/api/v1/mls/key-packages", tag = "e2ee", security(("bearer" = [])), request_body = PublishKeyPackagesRequest,
    responses((status = 201, body = KeyPackageStatus), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn publish_key_packages(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(request): Json<PublishKeyPackagesRequest>,
) -> ApiResult<(StatusCode, Json<KeyPackageStatus>)> {
    if request.key_packages.len() > MAX_KEY_PACKAGES_PER_REQUEST {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "at most 100 key packages per request",
        ));
    }
    let now = state.now();
    let last = request.key_packages.len();
    let all = request.key_packages.iter().chain(&request.last_resort);
    let mut packages = Vec::with_capacity(last + 1);
    for (index, bytes) in all.enumerate() {
        let refuse = |reason: &str| {
            let which = match index == last {
                true => "the last-resort key package".to_owned(),
                false => format!("key package {index}"),
            };
            ApiError::new(
                ErrorCode::MlsInvalidKeyPackage,
                format!("{which}: {reason}"),
            )
        };
        let package = check::published_key_package(&bytes.0, now)
            .map_err(|rejection| refuse(&rejection.message))?;
        if (package.device.user_id, package.device.device_id) != (actor.user_id, actor.session_id) {
            return Err(refuse(
                "its credential names another device than this session",
            ));
        }
        if package.last_resort != (index == last) {
            return Err(refuse(
                "last-resort packages go in `last_resort`, and only there",
            ));
        }
        packages.push(package);
    }
    let Some(first) = packages.first() else {
        return Err(ApiError::new(ErrorCode::BadRequest, "no key packages"));
    };
    let signature_key = first.device.signature_key.clone();
    if packages
        .iter()
        .any(|package| package.device.signature_key != signature_key)
    {
        return Err(ApiError::new(
            ErrorCode::MlsInvalidKeyPackage,
            "a device signs all its key packages with one key",
        ));
    }
    let batch = KeyPackageBatch {
        signature_key,
        packages,
    };
    let outcome = state.store.publish_key_packages(actor, batch, now).await?;
    state.publish(outcome.events).await;
    Ok((StatusCode::CREATED, Json(status(outcome.value))))
}

/// How many key packages this device has left.
#[utoipa::path(get, path = "/api/v1/mls/key-packages", tag = "e2ee", security(("bearer" = [])),
    responses((status = 200, body = KeyPackageStatus)))]
pub async fn key_package_status(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<KeyPackageStatus>> {
    let count = state.store.key_package_count(actor, state.now()).await?;
    Ok(Json(status(count)))
}

/// A user's devices and their signing keys: what safety numbers are made of.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/devices", tag = "e2ee", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, body = DeviceList), (status = 404, body = ErrorBody)))]
pub async fn devices(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(user_id): Path<UserId>,
) -> ApiResult<Json<DeviceList>> {
    let exists = state.store.user(user_id).await?.is_some();
    if !exists || !may_find(&state, actor.user_id, user_id).await? {
        return Err(ApiError::new(ErrorCode::UserNotFound, "no such user"));
    }
    let devices = state
        .store
        .devices_of(user_id)
        .await?
        .into_iter()
        .map(|device| DeviceInfo {
            id: device.id,
            signature_key: Base64Bytes(device.signature_key),
            created_on: time::date_of(device.created_at),
        })
        .collect();
    Ok(Json(DeviceList { devices }))
}

/// An encrypted chat's MLS group: its epoch, who holds which leaf, who waits to be added and
/// which leaves must be removed.
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/mls", tag = "e2ee", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = MlsGroupState), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn group(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<Json<MlsGroupState>> {
    let view = state.store.mls_group(actor, chat_id).await?;
    let device = |device: rules::Device| MlsDevice {
        user_id: device.user_id,
        device_id: device.device_id,
    };
    Ok(Json(MlsGroupState {
        group_id: Base64Bytes(rules::group_id(chat_id, view.generation)),
        generation: view.generation,
        epoch: view.epoch,
        leaves: view
            .leaves
            .into_iter()
            .map(|leaf| MlsLeaf {
                leaf: leaf.leaf,
                user_id: leaf.device.user_id,
                device_id: leaf.device.device_id,
                signature_key: Base64Bytes(leaf.device.signature_key),
            })
            .collect(),
        pending_add: view.pending_add.into_iter().map(device).collect(),
        pending_remove: view.pending_remove,
    }))
}

/// Key packages of the devices waiting to be added to the chat's group, one each, for the
/// member's device that will commit their adds.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/mls/key-packages/claim", tag = "e2ee", security(("bearer" = [])), request_body = ClaimKeyPackagesRequest,
    params(("chat_id" = i64, Path)), responses((status = 200, body = ClaimedKeyPackages), (status = 403, body = ErrorBody)))]
pub async fn claim_key_packages(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<ClaimKeyPackagesRequest>,
) -> ApiResult<Json<ClaimedKeyPackages>> {
    let outcome = state
        .store
        .claim_key_packages(actor, chat_id, request.devices, state.now())
        .await?;
    state.publish(outcome.events).await;
    let claimed = outcome.value;
    Ok(Json(ClaimedKeyPackages {
        key_packages: claimed
            .packages
            .into_iter()
            .map(|(device, data)| ClaimedKeyPackage {
                user_id: device.user_id,
                device_id: device.device_id,
                key_package: Base64Bytes(data),
            })
            .collect(),
        missing: claimed
            .missing
            .into_iter()
            .map(|device| MlsDevice {
                user_id: device.user_id,
                device_id: device.device_id,
            })
            .collect(),
    }))
}

/// Commit to the chat's group: accepted only at its current epoch (`mls_epoch_conflict`
/// otherwise), and only adding members' waiting devices and removing leaves that must go. It
/// becomes the chat's next message; its Welcome waits for the devices it adds.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/mls/commits", tag = "e2ee", security(("bearer" = [])), request_body = CommitRequest,
    params(("chat_id" = i64, Path)),
    responses((status = 201, body = Message), (status = 200, description = "The original of a repeated client_msg_id", body = Message),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn commit(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<CommitRequest>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    validate::client_msg_id(&request.client_msg_id)?;
    let welcome = request.welcome.as_ref().map(|welcome| welcome.0.as_slice());
    let checked = check::commit(&request.commit.0, welcome, chat_id, state.now())?;
    let commit = NewCommit {
        client_msg_id: request.client_msg_id,
        digest: Sha256::digest(&checked.data).to_vec(),
        commit: checked,
    };
    let outcome = state
        .store
        .commit(actor, chat_id, commit, state.now())
        .await?;
    state.publish(outcome.events).await;
    let (message, created) = outcome.value;
    let status = match created {
        true => StatusCode::CREATED,
        false => StatusCode::OK,
    };
    Ok((status, Json(message)))
}

/// This session lost its MLS state (site data cleared, a reinstall): its device is forgotten, so
/// it may publish key packages under a new key; members then replace its leaves.
#[utoipa::path(delete, path = "/api/v1/mls/devices/me", tag = "e2ee", security(("bearer" = [])),
    responses((status = 204)))]
pub async fn forget_device(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<StatusCode> {
    let outcome = state.store.forget_device(actor, state.now()).await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Welcomes waiting for this device.
#[utoipa::path(get, path = "/api/v1/mls/welcomes", tag = "e2ee", security(("bearer" = [])),
    responses((status = 200, body = WelcomeList)))]
pub async fn welcomes(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<WelcomeList>> {
    let welcomes = state
        .store
        .welcomes(actor)
        .await?
        .into_iter()
        .map(|welcome| WelcomeInfo {
            id: welcome.id,
            chat_id: welcome.chat_id,
            epoch: welcome.epoch,
            commit_seq: welcome.commit_seq,
            welcome: Base64Bytes(welcome.data),
        })
        .collect();
    Ok(Json(WelcomeList { welcomes }))
}

/// This device joined with the Welcome (or gave it up): it is forgotten.
#[utoipa::path(delete, path = "/api/v1/mls/welcomes/{welcome_id}", tag = "e2ee", security(("bearer" = [])),
    params(("welcome_id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn forget_welcome(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(welcome_id): Path<i64>,
) -> ApiResult<StatusCode> {
    state.store.forget_welcome(actor, welcome_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
