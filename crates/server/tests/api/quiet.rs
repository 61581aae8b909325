//! Quiet hours, do-not-disturb and reminders through the real server, on a clock the test sets.

use std::collections::BTreeMap;

use kolokol_client::proto::{
    ErrorCode, Event, HoldReason, IssueClaimCodesRequest, OrgPolicy, QuietHours, SendMessageRequest,
};
use kolokol_client::{Client, Posted};
use kolokol_server::clock::Clock;

use super::common::{TestServer, assert_refused, connect, send, start_with, wait_for};

const ROSTER: &str = include_str!("../../../../docs/roster-example.csv");

/// Local Moscow time as a timestamp.
fn moscow(local: &str) -> i64 {
    local
        .parse::<jiff::civil::DateTime>()
        .unwrap()
        .in_tz("Europe/Moscow")
        .unwrap()
        .timestamp()
        .as_millisecond()
}

fn evenings_and_weekends() -> OrgPolicy {
    OrgPolicy {
        quiet_hours: Some(QuietHours {
            start: "19:00".into(),
            end: "08:00".into(),
            weekends: true,
        }),
        ..OrgPolicy::default()
    }
}

struct School {
    server: TestServer,
    clock: Clock,
    org_id: i64,
    /// By username: the director (org admin, also class teacher Смирнова of 5Б), a subject
    /// teacher and two mothers of 5Б.
    people: BTreeMap<&'static str, (Client, i64)>,
}

impl School {
    fn who(&self, username: &str) -> &Client {
        &self.people[username].0
    }

    fn id(&self, username: &str) -> i64 {
        self.people[username].1
    }

    async fn chat(&self, username: &str, title: &str) -> i64 {
        self.who(username)
            .chats()
            .await
            .unwrap()
            .into_iter()
            .find(|chat| chat.title.as_deref() == Some(title))
            .unwrap_or_else(|| panic!("{username} has no chat {title}"))
            .id
    }
}

/// A school on a Tuesday evening, Moscow time.
async fn school_at(local: &str) -> School {
    let clock = Clock::manual(moscow(local));
    let server = start_with(|settings| {
        settings.admins = vec!["director".into()];
        settings.claims_per_ip_per_hour = 100_000;
        settings.clock = clock.clone();
    })
    .await;
    let (director, director_id) = {
        let (client, user) = server.user("director").await;
        (client, user.id)
    };
    let org = director
        .create_org("Школа №1234", Some("Europe/Moscow"))
        .await
        .unwrap();
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let codes: BTreeMap<String, String> = director
        .issue_claim_codes(org.id, &IssueClaimCodesRequest::default())
        .await
        .unwrap()
        .codes
        .into_iter()
        .map(|entry| (entry.name, entry.code))
        .collect();
    director
        .claim(&codes["Смирнова Ольга Викторовна"])
        .await
        .unwrap();
    let mut people = BTreeMap::from([("director", (director, director_id))]);
    for (username, name) in [
        ("kuznetsov", "Кузнецов Павел Андреевич"),
        ("ivanova", "Иванова Мария Петровна"),
        ("salimova", "Салимова Гульнара Ахмедовна"),
    ] {
        let (client, user) = server.user(username).await;
        client.claim(&codes[name]).await.unwrap();
        people.insert(username, (client, user.id));
    }
    School {
        server,
        clock,
        org_id: org.id,
        people,
    }
}

fn request(id: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest {
        client_msg_id: id.into(),
        text: text.into(),
        reply_to: None,
        request_ack: false,
        urgent: false,
        thread_of: None,
        poll: None,
        attachments: Vec::new(),
        mls: None,
    }
}

async fn post(client: &Client, chat_id: i64, id: &str, text: &str) -> Posted {
    client
        .post_message(chat_id, &request(id, text))
        .await
        .unwrap_or_else(|e| panic!("posting {text:?}: {e}"))
}

#[track_caller]
fn held(posted: Posted) -> kolokol_client::proto::HeldMessage {
    match posted {
        Posted::Held(held) => held,
        other => panic!("expected the message to be held, got {other:?}"),
    }
}

#[track_caller]
fn sent(posted: Posted) {
    assert!(
        matches!(posted, Posted::Sent(_)),
        "expected the message to go out now, got {posted:?}"
    );
}

#[tokio::test]
async fn quiet_hours_hold_staff_messages_to_families_until_the_morning() {
    let school = school_at("2026-11-24T20:00").await; // a Tuesday
    let parents = school.chat("director", "5Б · родители").await;
    let staff_room = school.chat("director", "Школа №1234 · учительская").await;

    // Without a policy nothing waits.
    sent(post(school.who("director"), parents, "before", "Добрый вечер").await);

    // Only the org's admins set it, and only a well-formed one; a refusal changes nothing.
    assert_refused(
        school
            .who("kuznetsov")
            .set_org_policy(school.org_id, &evenings_and_weekends())
            .await,
        ErrorCode::Forbidden,
        403,
    );
    let mut bad = evenings_and_weekends();
    bad.quiet_hours.as_mut().unwrap().start = "7pm".into();
    assert_refused(
        school
            .who("director")
            .set_org_policy(school.org_id, &bad)
            .await,
        ErrorCode::InvalidPolicy,
        400,
    );
    let orgs = school.who("director").orgs().await.unwrap();
    assert_eq!(orgs[0].policy, OrgPolicy::default());
    let org = school
        .who("director")
        .set_org_policy(school.org_id, &evenings_and_weekends())
        .await
        .unwrap();
    assert_eq!(org.policy, evenings_and_weekends());

    let (mut ivanova_events, _) = connect(school.who("ivanova"), None).await;
    let wednesday_morning = moscow("2026-11-25T08:00");

    // The class teacher's message to parents waits, and she is told until when.
    let notice = held(post(school.who("director"), parents, "n1", "Завтра контрольная").await);
    assert_eq!(notice.release_at, wednesday_morning);
    assert_eq!(notice.reason, HoldReason::QuietHours);
    // Sending it again (a retry) holds nothing more.
    let again = held(post(school.who("director"), parents, "n1", "Завтра контрольная").await);
    assert_eq!(again.id, notice.id);
    // A second one, which she then cancels.
    let second = held(post(school.who("director"), parents, "n2", "Отмена").await);
    school
        .who("director")
        .cancel_held(parents, second.id)
        .await
        .unwrap();
    assert_refused(
        school.who("ivanova").cancel_held(parents, notice.id).await,
        ErrorCode::NotFound,
        404,
    );
    let (stranger, _) = school.server.user("stranger").await;
    assert_refused(
        stranger.held_messages(parents).await,
        ErrorCode::NotMember,
        403,
    );
    let waiting = school.who("director").held_messages(parents).await.unwrap();
    assert_eq!(waiting, std::slice::from_ref(&notice));

    // What may not be posted at all is refused now, not held and dropped in the morning: the
    // class chat made a read-only archive takes nothing, quiet hours or not.
    let class = school.chat("director", "5Б · класс").await;
    school
        .who("director")
        .set_chat_settings(
            class,
            &kolokol_client::proto::ChatSettingsRequest {
                posting: Some(kolokol_client::proto::Posting::Nobody),
                slow_mode_secs: None,
            },
        )
        .await
        .unwrap();
    assert_refused(
        school
            .who("director")
            .post_message(class, &request("x1", "в архив"))
            .await,
        ErrorCode::Forbidden,
        403,
    );

    // Parents among themselves are not held; staff among themselves neither.
    sent(
        post(
            school.who("salimova"),
            parents,
            "p1",
            "Кто знает, что задали?",
        )
        .await,
    );
    sent(
        post(
            school.who("kuznetsov"),
            staff_room,
            "s1",
            "Коллеги, педсовет в среду",
        )
        .await,
    );
    // A parent writing directly to a teacher waits, and so does the teacher's direct answer.
    let (direct, _) = school
        .who("ivanova")
        .create_chat(&kolokol_client::proto::CreateChatRequest {
            kind: kolokol_client::proto::ChatKind::Direct,
            title: None,
            member_ids: Some(vec![school.id("kuznetsov")]),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
        .unwrap();
    let question = held(
        post(
            school.who("ivanova"),
            direct.id,
            "q1",
            "Павел Андреевич, вопрос",
        )
        .await,
    );
    assert_eq!(question.release_at, wednesday_morning);
    held(post(school.who("kuznetsov"), direct.id, "a1", "Отвечу утром").await);

    // The parent sees none of it tonight: the next thing she gets is the other parent's message.
    let first = wait_for(&mut ivanova_events, |event| match event {
        Event::MessageNew { message } => Some(message.text.clone()),
        _ => None,
    })
    .await;
    assert_eq!(first, "Кто знает, что задали?");
    let history = school
        .who("ivanova")
        .messages(parents, Default::default())
        .await
        .unwrap();
    assert!(history.iter().all(|m| m.text != "Завтра контрольная"));

    // Urgent overrides, but only for an admin of the org.
    let mut urgent = request("u1", "Школа закрыта завтра из-за аварии");
    urgent.urgent = true;
    assert_refused(
        school
            .who("kuznetsov")
            .post_message(direct.id, &urgent)
            .await,
        ErrorCode::Forbidden,
        403,
    );
    sent(
        school
            .who("director")
            .post_message(parents, &urgent)
            .await
            .unwrap(),
    );
    // An urgent message is an admin's action: the school's log names it (by id).
    let log = school
        .who("director")
        .audit_log(school.org_id, None)
        .await
        .unwrap();
    assert_eq!(log[0].action, "message.urgent");
    assert!(
        log[0]
            .detail
            .starts_with(&format!("chat {parents}: message ")),
        "{}",
        log[0].detail
    );

    // In the morning the held message goes out, as sent then; the cancelled one never does.
    school.clock.set(wednesday_morning);
    let released = wait_for(&mut ivanova_events, |event| match event {
        Event::MessageNew { message } if message.client_msg_id == "n1" => Some(message.clone()),
        _ => None,
    })
    .await;
    assert_eq!(released.text, "Завтра контрольная");
    assert_eq!(released.created_at, wednesday_morning);
    assert!(
        school
            .who("director")
            .held_messages(parents)
            .await
            .unwrap()
            .is_empty()
    );
    let texts: Vec<String> = school
        .who("ivanova")
        .messages(parents, Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        [
            "Добрый вечер",
            "Кто знает, что задали?",
            "Школа закрыта завтра из-за аварии",
            "Завтра контрольная"
        ]
    );
    drop(school.server);
}

#[tokio::test]
async fn weekends_wait_for_monday_and_daytime_is_never_held() {
    let school = school_at("2026-11-28T12:00").await; // a Saturday
    school
        .who("director")
        .set_org_policy(school.org_id, &evenings_and_weekends())
        .await
        .unwrap();
    let parents = school.chat("director", "5Б · родители").await;
    let weekend = held(
        post(
            school.who("director"),
            parents,
            "w1",
            "В понедельник линейка",
        )
        .await,
    );
    assert_eq!(weekend.release_at, moscow("2026-11-30T08:00"));

    school.clock.set(moscow("2026-11-30T12:00"));
    sent(
        post(
            school.who("director"),
            parents,
            "d1",
            "Днём всё уходит сразу",
        )
        .await,
    );
}

#[tokio::test]
async fn do_not_disturb_holds_direct_messages_until_it_ends() {
    let school = school_at("2026-11-24T12:00").await;
    let now = moscow("2026-11-24T12:00");
    // Someone connected, so the gateway caches chats' members, which do-not-disturb consults.
    let (_watching, _) = connect(school.who("salimova"), None).await;
    let kuznetsov = school.who("kuznetsov");
    assert_eq!(kuznetsov.do_not_disturb().await.unwrap(), None);
    for bad in [now - 1, now + 40 * 86_400_000] {
        assert_refused(
            kuznetsov.set_do_not_disturb(Some(bad)).await,
            ErrorCode::BadRequest,
            400,
        );
    }
    let until = now + 3_600_000;
    kuznetsov.set_do_not_disturb(Some(until)).await.unwrap();
    assert_eq!(kuznetsov.do_not_disturb().await.unwrap(), Some(until));

    let (direct, _) = school
        .who("salimova")
        .create_chat(&kolokol_client::proto::CreateChatRequest {
            kind: kolokol_client::proto::ChatKind::Direct,
            title: None,
            member_ids: Some(vec![school.id("kuznetsov")]),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
        .unwrap();
    let waiting = held(post(school.who("salimova"), direct.id, "d1", "Добрый день!").await);
    assert_eq!(
        (waiting.reason, waiting.release_at),
        (HoldReason::DoNotDisturb, until)
    );
    // Group chats are not held: do-not-disturb is about being reached directly.
    let staff_room = school.chat("director", "Школа №1234 · учительская").await;
    sent(post(school.who("director"), staff_room, "g1", "Совещание").await);

    kuznetsov.set_do_not_disturb(None).await.unwrap();
    sent(post(school.who("salimova"), direct.id, "d2", "Ещё вопрос").await);
    let (mut events, _) = connect(kuznetsov, None).await;
    school.clock.set(until);
    let released = wait_for(&mut events, |event| match event {
        Event::MessageNew { message } if message.client_msg_id == "d1" => Some(message.clone()),
        _ => None,
    })
    .await;
    assert_eq!(released.text, "Добрый день!");
}

#[tokio::test]
async fn a_reminder_reaches_only_those_who_have_not_read() {
    let school = school_at("2026-11-24T12:00").await;
    let parents = school.chat("director", "5Б · родители").await;
    let notice = send(
        school.who("director"),
        parents,
        "n1",
        "Соберите 500 ₽ на экскурсию",
    )
    .await
    .unwrap();
    school
        .who("ivanova")
        .mark_read(parents, notice.seq)
        .await
        .unwrap();
    let (mut ivanova_events, _) = connect(school.who("ivanova"), None).await;
    let (mut salimova_events, _) = connect(school.who("salimova"), None).await;

    // Only the chat's admins remind.
    assert_refused(
        school.who("salimova").remind(parents, notice.seq).await,
        ErrorCode::Forbidden,
        403,
    );
    let reminded = school
        .who("director")
        .remind(parents, notice.seq)
        .await
        .unwrap();
    assert_eq!(reminded, 1, "one of the two mothers has not read it");
    let reminder = wait_for(&mut salimova_events, |event| match event {
        Event::Reminder { chat_id, seq } => Some((*chat_id, *seq)),
        _ => None,
    })
    .await;
    assert_eq!(reminder, (parents, notice.seq));

    // The mother who had read it gets no reminder: the next thing she hears is the next message.
    send(school.who("director"), parents, "n2", "Спасибо всем")
        .await
        .unwrap();
    let next = wait_for(&mut ivanova_events, |event| match event {
        Event::Reminder { .. } => Some("reminder".to_owned()),
        Event::MessageNew { message } => Some(message.text.clone()),
        _ => None,
    })
    .await;
    assert_eq!(next, "Спасибо всем");

    // Once an hour per message, and the reach view says when.
    assert_refused(
        school.who("director").remind(parents, notice.seq).await,
        ErrorCode::RateLimited,
        429,
    );
    let reach = school
        .who("director")
        .message_reach(parents, notice.seq)
        .await
        .unwrap();
    assert_eq!(reach.reminded_at, Some(moscow("2026-11-24T12:00")));
    school.clock.set(moscow("2026-11-24T13:01"));
    school
        .who("salimova")
        .mark_read(parents, notice.seq)
        .await
        .unwrap();
    assert_eq!(
        school
            .who("director")
            .remind(parents, notice.seq)
            .await
            .unwrap(),
        0,
        "everyone has read it now"
    );
}
