//! Organisations through the real server: creating one, importing a school's roster, the chats
//! that follow it, claim codes, and who may do each.

use std::collections::BTreeMap;

use kolokol_client::proto::{
    ChatKind, ClaimCodeEntry, ErrorCode, IssueClaimCodesRequest, LoginRequest, OrgInfo,
    ReportAction, Role, RosterProblem, RosterReport,
};
use kolokol_client::{Client, ClientError};

use super::common::{TestServer, assert_refused, start_with};

const ROSTER: &str = include_str!("../../../../docs/roster-example.csv");

async fn school() -> (TestServer, Client, OrgInfo) {
    school_with(|_| {}).await
}

async fn school_with(
    configure: impl FnOnce(&mut kolokol_server::config::Settings),
) -> (TestServer, Client, OrgInfo) {
    let server = start_with(|settings| {
        settings.admins = vec!["director".into()];
        settings.claims_per_ip_per_hour = 100_000;
        configure(settings);
    })
    .await;
    let (director, _) = server.user("director").await;
    let org = director
        .create_org("Школа №1234", Some("Europe/Moscow"))
        .await
        .expect("the instance admin creates an org");
    (server, director, org)
}

/// The claim code of the person called `name`, from a fresh issue for everyone unclaimed.
async fn codes(admin: &Client, org: &OrgInfo) -> BTreeMap<String, ClaimCodeEntry> {
    admin
        .issue_claim_codes(org.id, &IssueClaimCodesRequest::default())
        .await
        .expect("issuing codes")
        .codes
        .into_iter()
        .map(|entry| (entry.name.clone(), entry))
        .collect()
}

/// The caller's chats by title, with the caller's role in each.
async fn chats_of(client: &Client) -> BTreeMap<String, (ChatKind, Role)> {
    client
        .chats()
        .await
        .unwrap()
        .into_iter()
        .map(|chat| (chat.title.unwrap_or_default(), (chat.kind, chat.role)))
        .collect()
}

#[tokio::test]
async fn only_instance_admins_create_orgs_with_a_valid_name_and_time_zone() {
    let (server, director, org) = school().await;
    assert_eq!(org.name, "Школа №1234");
    assert_eq!(org.time_zone, "Europe/Moscow");
    assert_eq!(org.roles, ["admin"]);
    assert_eq!(director.orgs().await.unwrap(), [org]);

    let (parent, _) = server.user("parent").await;
    assert_refused(
        parent.create_org("Школа", None).await,
        ErrorCode::Forbidden,
        403,
    );
    assert!(parent.orgs().await.unwrap().is_empty());
    assert_refused(
        director.create_org("Школа", Some("Moscow/Nowhere")).await,
        ErrorCode::InvalidOrg,
        400,
    );
    assert_refused(
        director.create_org("   ", None).await,
        ErrorCode::InvalidOrg,
        400,
    );
    // Without a time zone, Moscow's.
    let second = director.create_org("Гимназия", None).await.unwrap();
    assert_eq!(second.time_zone, "Europe/Moscow");
    let created = director.audit_log(second.id, None).await.unwrap();
    assert_eq!(
        created
            .iter()
            .map(|entry| (entry.action.as_str(), entry.detail.as_str()))
            .collect::<Vec<_>>(),
        [("org.created", "time zone Europe/Moscow")]
    );

    // The web client offers creating an org to the instance's administrators only.
    assert!(director.me().await.unwrap().instance_admin);
    assert!(!parent.me().await.unwrap().instance_admin);
}

#[tokio::test]
async fn a_roster_import_provisions_the_school_and_claims_seat_people() {
    let (server, director, org) = school().await;

    // A dry run reports and changes nothing.
    let dry = director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), true)
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.units_added, ["5Б", "7А"]);
    assert_eq!(dry.people_added.len(), 21);
    assert_eq!(dry.chats_created, 0);
    assert!(director.roster(org.id).await.unwrap().units.is_empty());

    let report = director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    assert_eq!(report.people_added.len(), 21);
    assert_eq!(
        report.chats_created, 6,
        "two per class, announcements and staff room"
    );
    assert_eq!(report.members_added, 0, "nobody has claimed yet");

    // Russian names, classes, subjects and children round-trip.
    let roster = director.roster(org.id).await.unwrap();
    assert_eq!(roster.chats.len(), 2);
    let class_5b = roster.units.iter().find(|unit| unit.name == "5Б").unwrap();
    assert_eq!(class_5b.chats.len(), 2);
    let guardian = class_5b
        .people
        .iter()
        .find(|entry| entry.name == "Вейс Михаил Львович")
        .unwrap();
    assert_eq!(
        (guardian.role.as_str(), guardian.detail.as_str()),
        ("guardian", "Соколова-Вейс Анна Михайловна")
    );
    let teacher = class_5b
        .people
        .iter()
        .find(|entry| entry.name == "Смирнова Ольга Викторовна")
        .unwrap();
    assert_eq!(teacher.detail, "русский язык; литература");

    let codes = codes(&director, &org).await;
    assert_eq!(codes.len(), 21);
    let smirnova = &codes["Смирнова Ольга Викторовна"];
    assert_eq!(
        smirnova.places.len(),
        2,
        "class teacher of 5Б, guardian in 7А"
    );

    // A guardian claims: parents' chat of her child's class and the announcements.
    let (ivanova, _) = server.user("ivanova").await;
    let claimed = ivanova
        .claim(&codes["Иванова Мария Петровна"].code.to_lowercase())
        .await
        .expect("a code typed in lower case still works");
    assert_eq!(claimed.person_name, "Иванова Мария Петровна");
    assert_eq!(claimed.org.name, "Школа №1234");
    assert!(claimed.org.roles.is_empty());
    assert_eq!(
        chats_of(&ivanova).await,
        BTreeMap::from([
            ("5Б · родители".to_owned(), (ChatKind::Group, Role::Member)),
            (
                "Школа №1234 · объявления".to_owned(),
                (ChatKind::Channel, Role::Member)
            ),
        ])
    );

    // The class teacher who is also a parent elsewhere: admin of her class, member in 7А.
    let (teacher, _) = server.user("smirnova").await;
    teacher.claim(&smirnova.code).await.unwrap();
    assert_eq!(
        chats_of(&teacher).await,
        BTreeMap::from([
            ("5Б · класс".to_owned(), (ChatKind::Group, Role::Admin)),
            ("5Б · родители".to_owned(), (ChatKind::Group, Role::Admin)),
            ("7А · родители".to_owned(), (ChatKind::Group, Role::Member)),
            (
                "Школа №1234 · объявления".to_owned(),
                (ChatKind::Channel, Role::Admin)
            ),
            (
                "Школа №1234 · учительская".to_owned(),
                (ChatKind::Group, Role::Member)
            ),
        ])
    );
    let roster = director.roster(org.id).await.unwrap();
    let claimed_names: Vec<_> = roster
        .units
        .iter()
        .flat_map(|unit| &unit.people)
        .filter(|entry| entry.claimed)
        .map(|entry| entry.name.as_str())
        .collect();
    assert_eq!(
        claimed_names,
        [
            "Смирнова Ольга Викторовна",
            "Иванова Мария Петровна",
            "Смирнова Ольга Викторовна"
        ]
    );

    // Family reach in 5Б: Артём's family is reached through his mother; Фёдоров has no
    // guardian on the roster, so his family cannot be reached by code at all.
    let class_5b = roster.units.iter().find(|unit| unit.name == "5Б").unwrap();
    let reach: Vec<(&str, bool, usize)> = class_5b
        .families
        .iter()
        .map(|family| {
            (
                family.student.as_str(),
                family.reached,
                family.guardians.len(),
            )
        })
        .collect();
    assert_eq!(
        reach,
        [
            ("Иванов Артём Сергеевич", true, 2),
            ("Петрова Алёна Дмитриевна", false, 1),
            ("Салимов Тимур Рустамович", false, 1),
            ("Соколова-Вейс Анна Михайловна", false, 1),
            ("Фёдоров Илья Олегович", false, 0),
        ]
    );

    // A used code is gone.
    let (other, _) = server.user("other").await;
    assert_refused(
        other.claim(&smirnova.code).await,
        ErrorCode::ClaimCodeNotFound,
        404,
    );
}

#[tokio::test]
async fn reimports_are_idempotent_and_move_claimed_people() {
    let (server, director, org) = school().await;
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let codes = codes(&director, &org).await;
    let (ilya, _) = server.user("ilya").await;
    ilya.claim(&codes["Фёдоров Илья Олегович"].code)
        .await
        .unwrap();
    assert_eq!(
        chats_of(&ilya).await.keys().collect::<Vec<_>>(),
        ["5Б · класс", "Школа №1234 · объявления"]
    );

    let again = director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    assert_eq!(
        again,
        RosterReport::default(),
        "the same file again changes nothing"
    );

    // Фёдоров moves to 7А; Ким Виктория and her guardians leave.
    let moved = ROSTER
        .replace("student,5Б,Фёдоров", "student,7А,Фёдоров")
        .lines()
        .filter(|line| !line.contains("Ким "))
        .collect::<Vec<_>>()
        .join("\n");
    let report = director
        .import_roster(org.id, moved.into_bytes(), false)
        .await
        .unwrap();
    assert_eq!(report.people_changed, ["Фёдоров Илья Олегович"]);
    assert_eq!(
        report.people_archived,
        [
            "Ким Виктория Евгеньевна",
            "Ким Евгений Вячеславович",
            "Ким Ольга Сергеевна"
        ]
    );
    assert_eq!(
        (
            report.chats_created,
            report.members_added,
            report.members_removed
        ),
        (0, 1, 1)
    );
    assert_eq!(
        chats_of(&ilya).await.keys().collect::<Vec<_>>(),
        ["7А · класс", "Школа №1234 · объявления"]
    );
    // The roster keeps one entry per person: nobody was duplicated by the move.
    let roster = director.roster(org.id).await.unwrap();
    let fedorov = roster
        .units
        .iter()
        .flat_map(|unit| &unit.people)
        .filter(|entry| entry.name == "Фёдоров Илья Олегович")
        .count();
    assert_eq!(fedorov, 1);
}

#[tokio::test]
async fn a_bad_roster_is_refused_by_line_and_nothing_changes() {
    let (_server, director, org) = school().await;
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let before = director.roster(org.id).await.unwrap();
    let bad = format!("{ROSTER}pupil,5Б,Новиков Лев,,\nguardian,5Б,Новикова Анна,Новиков Лев,\n");
    let err = director
        .import_roster(org.id, bad.into_bytes(), false)
        .await
        .expect_err("refused");
    let ClientError::Api { status, body } = err else {
        panic!("an API error: {err}")
    };
    assert_eq!((status, body.code), (400, ErrorCode::RosterInvalid));
    let lines: Vec<_> = body.errors.iter().map(|error| error.line).collect();
    assert_eq!(lines, [27, 28]);
    assert_eq!(body.errors[1].message, "Новиков Лев is not a student in 5Б");
    // Each problem also comes as a code with its details, for clients to word it themselves.
    assert_eq!(
        body.errors[0].problem,
        RosterProblem::UnknownRole {
            role: "pupil".into()
        }
    );
    assert_eq!(
        body.errors[1].problem,
        RosterProblem::ChildNotFound {
            child: "Новиков Лев".into(),
            unit: "5Б".into()
        }
    );
    let wire = serde_json::to_value(&body.errors[1]).unwrap();
    assert_eq!(
        (&wire["problem"], &wire["child"], &wire["class"]),
        (
            &serde_json::json!("child_not_found"),
            &serde_json::json!("Новиков Лев"),
            &serde_json::json!("5Б")
        )
    );

    // Not UTF-8 (a Windows-1251 export), and not a roster at all.
    let cp1251 = b"role,class,name\nstudent,5\xc1,\xc8\xe2\xe0\xed\n".to_vec();
    assert_refused(
        director.import_roster(org.id, cp1251, false).await,
        ErrorCode::RosterInvalid,
        400,
    );
    assert_refused(
        director
            .import_roster(org.id, b"\x00\x01PNG".to_vec(), false)
            .await,
        ErrorCode::RosterInvalid,
        400,
    );
    let after = director.roster(org.id).await.unwrap();
    assert_eq!(
        serde_json::to_value(&after.units).unwrap(),
        serde_json::to_value(&before.units).unwrap(),
        "nothing stored was lost or changed"
    );
}

#[tokio::test]
async fn only_the_orgs_admins_manage_it() {
    let (server, director, org) = school().await;
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let codes = codes(&director, &org).await;
    // A member of the org (a claimed guardian) is not an admin.
    let (parent, _) = server.user("parent").await;
    parent
        .claim(&codes["Ким Ольга Сергеевна"].code)
        .await
        .unwrap();
    // The admin of another org is not an admin here.
    let other_org = director.create_org("Другая школа", None).await.unwrap();
    let (stranger, _) = server.user("stranger").await;
    let _ = other_org;

    for outsider in [&parent, &stranger] {
        assert_refused(outsider.roster(org.id).await, ErrorCode::Forbidden, 403);
        assert_refused(
            outsider
                .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
                .await,
            ErrorCode::Forbidden,
            403,
        );
        assert_refused(
            outsider
                .issue_claim_codes(org.id, &IssueClaimCodesRequest::default())
                .await,
            ErrorCode::Forbidden,
            403,
        );
    }
    // An org that does not exist looks the same as one that is not yours.
    assert_refused(
        director.roster(org.id + 1000).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        server.anonymous().roster(org.id).await,
        ErrorCode::Unauthorized,
        401,
    );
    // Codes only for this org's people.
    assert_refused(
        director
            .issue_claim_codes(
                other_org.id,
                &IssueClaimCodesRequest {
                    person_ids: Some(vec![codes["Ким Ольга Сергеевна"].person_id]),
                    ..IssueClaimCodesRequest::default()
                },
            )
            .await,
        ErrorCode::NotFound,
        404,
    );
}

/// A code lasts 30 days; a code issued again for one person replaces only theirs.
#[tokio::test]
async fn claim_codes_expire_and_a_reissued_code_replaces_only_its_persons() {
    const START: i64 = 1_795_510_800_000;
    let clock = kolokol_server::clock::Clock::manual(START);
    let server = start_with(|settings| {
        settings.admins = vec!["director".into()];
        settings.clock = clock.clone();
    })
    .await;
    let (director, _) = server.user("director").await;
    let org = director.create_org("Школа", None).await.unwrap();
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let first = codes(&director, &org).await;
    let kim = &first["Ким Ольга Сергеевна"];
    let again = director
        .issue_claim_codes(
            org.id,
            &IssueClaimCodesRequest {
                person_ids: Some(vec![kim.person_id]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        again
            .codes
            .iter()
            .map(|entry| entry.person_id)
            .collect::<Vec<_>>(),
        [kim.person_id]
    );
    let (parent, _) = server.user("parent").await;
    assert_refused(
        parent.claim(&kim.code).await,
        ErrorCode::ClaimCodeNotFound,
        404,
    );
    parent.claim(&again.codes[0].code).await.unwrap();

    // Everyone else's first code still works for 30 days, and not a minute longer.
    let (late, _) = server.user("late").await;
    clock.set(START + 30 * 86_400_000 + 60_000);
    let ivanova = &first["Иванова Мария Петровна"];
    assert_refused(
        late.claim(&ivanova.code).await,
        ErrorCode::ClaimCodeExpired,
        410,
    );
    let (on_time, _) = server.user("on_time").await;
    clock.set(START + 30 * 86_400_000 - 60_000);
    on_time.claim(&ivanova.code).await.unwrap();
}

#[tokio::test]
async fn claim_guesses_are_rate_limited_and_the_service_account_cannot_sign_in() {
    let server = start_with(|settings| {
        settings.admins = vec!["director".into()];
        settings.claims_per_user_per_hour = 3;
    })
    .await;
    let (director, _) = server.user("director").await;
    let org = director.create_org("Школа", None).await.unwrap();
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let (guesser, _) = server.user("guesser").await;
    for _ in 0..3 {
        assert_refused(
            guesser.claim("AAAA-BBBB-CCCC").await,
            ErrorCode::ClaimCodeNotFound,
            404,
        );
    }
    // Even a right code is refused once the guesses are spent.
    let codes = codes(&director, &org).await;
    assert_refused(
        guesser.claim(&codes["Ким Ольга Сергеевна"].code).await,
        ErrorCode::RateLimited,
        429,
    );

    // The org's chats are owned by its service account, which has no password.
    let roster = director.roster(org.id).await.unwrap();
    let chat_id = roster.chats[0].chat_id;
    let (parent, _) = server.user("parent").await;
    parent
        .claim(&codes["Ким Ольга Сергеевна"].code)
        .await
        .unwrap();
    let members = parent.members(chat_id).await.unwrap();
    let owner = members
        .iter()
        .find(|member| member.role == Role::Owner)
        .expect("the service account owns the channel");
    assert_eq!(owner.user.display_name, "Школа");
    for password in ["!", "", "correct horse battery"] {
        let mut client = server.anonymous();
        let login = client
            .login(&LoginRequest {
                username: owner
                    .user
                    .username
                    .clone()
                    .expect("an org's account shows its name"),
                password: password.into(),
                device_name: None,
            })
            .await;
        assert_refused(login, ErrorCode::WrongCredentials, 401);
    }
}

/// Runs `kolokol admin` against the test server as the director.
async fn admin_cli(server: &TestServer, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kolokol"))
        .args(["admin", "--server", &server.base, "--username", "director"])
        .args(args)
        .env("KOLOKOL_PASSWORD", super::common::PASSWORD)
        .output()
        .await
        .expect("kolokol admin runs")
}

#[tokio::test]
async fn the_admin_command_goes_from_a_roster_file_to_printable_codes() {
    let server = start_with(|settings| settings.admins = vec!["director".into()]).await;
    let (director, _) = server.user("director").await;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();

    let created = admin_cli(&server, &["create-org", "--name", "Школа №5"]).await;
    assert!(created.status.success(), "{}", text(&created.stderr));
    let org = director.orgs().await.unwrap().remove(0);
    assert_eq!(
        text(&created.stdout),
        format!("created org {} \"Школа №5\" (Europe/Moscow)\n", org.id)
    );

    let roster_file = server.dir.path().join("roster.csv");
    std::fs::write(&roster_file, ROSTER).unwrap();
    let org_id = org.id.to_string();
    let file = roster_file.to_str().unwrap();
    let imported = admin_cli(&server, &["import-roster", "--org", &org_id, file]).await;
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let report = text(&imported.stdout);
    assert!(report.contains("classes added (2): 5Б, 7А"), "{report}");
    assert!(report.contains("chats created: 6"), "{report}");

    let page = server.dir.path().join("codes.html");
    let printed = admin_cli(
        &server,
        &[
            "claim-codes",
            "--org",
            &org_id,
            "--class",
            "7А",
            "--out",
            page.to_str().unwrap(),
        ],
    )
    .await;
    assert!(printed.status.success(), "{}", text(&printed.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Ким Ольга Сергеевна"));
    assert!(!html.contains("Иванова Мария Петровна"), "only 7А");
    // A printed code works.
    let code = html
        .split("<p class=\"code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let (parent, _) = server.user("parent").await;
    parent.claim(&code).await.expect("the printed code claims");

    // A lost card: a new code for that one person, by name; nobody else's changes.
    let one = server.dir.path().join("one.html");
    let reprinted = admin_cli(
        &server,
        &[
            "claim-codes",
            "--org",
            &org_id,
            "--person",
            "иванова мария петровна",
            "--out",
            one.to_str().unwrap(),
        ],
    )
    .await;
    assert!(reprinted.status.success(), "{}", text(&reprinted.stderr));
    let html = std::fs::read_to_string(&one).unwrap();
    assert_eq!(html.matches("<p class=\"code\">").count(), 1);
    assert!(html.contains("Иванова Мария Петровна"));
    let nobody = admin_cli(
        &server,
        &[
            "claim-codes",
            "--org",
            &org_id,
            "--person",
            "Никто Никтович",
        ],
    )
    .await;
    assert!(!nobody.status.success());
    assert!(text(&nobody.stderr).contains("nobody called Никто Никтович"));

    // A bad file: every error by line, a failing exit status.
    std::fs::write(&roster_file, "role,class,name\npupil,5Б,Иванов\n").unwrap();
    let refused = admin_cli(&server, &["import-roster", "--org", &org_id, file]).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("line 2: unknown role \"pupil\""),
        "{}",
        text(&refused.stderr)
    );
}

/// A school with the example roster, its admin (`director`), and these roster people with
/// claimed accounts (username → full name).
struct ClaimedSchool {
    server: TestServer,
    director: Client,
    org: OrgInfo,
    people: BTreeMap<String, (Client, i64)>,
}

async fn claimed_school_with_admin(people: &[(&str, &str)]) -> ClaimedSchool {
    claimed_school_configured(people, |_| {}).await
}

async fn claimed_school_configured(
    people: &[(&str, &str)],
    configure: impl FnOnce(&mut kolokol_server::config::Settings),
) -> ClaimedSchool {
    let (server, director, org) = school_with(configure).await;
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let codes = codes(&director, &org).await;
    let mut accounts = BTreeMap::new();
    for &(username, name) in people {
        let (client, user) = server.user(username).await;
        client.claim(&codes[name].code).await.unwrap();
        accounts.insert(username.to_owned(), (client, user.id));
    }
    ClaimedSchool {
        server,
        director,
        org,
        people: accounts,
    }
}

/// As [`claimed_school_with_admin`], for tests that need no admin.
async fn claimed_school(people: &[(&str, &str)]) -> (TestServer, BTreeMap<String, (Client, i64)>) {
    let school = claimed_school_with_admin(people).await;
    (school.server, school.people)
}

async fn direct(
    from: &Client,
    to: i64,
) -> Result<(kolokol_client::proto::Chat, bool), ClientError> {
    from.create_chat(&kolokol_client::proto::CreateChatRequest {
        kind: ChatKind::Direct,
        title: None,
        member_ids: Some(vec![to]),
        privacy: kolokol_proto::ChatPrivacy::Community,
    })
    .await
}

#[tokio::test]
async fn safeguarding_keeps_students_apart_from_those_outside_their_circle() {
    let (server, people) = claimed_school(&[
        ("artem", "Иванов Артём Сергеевич"),         // student, 5Б
        ("alena", "Петрова Алёна Дмитриевна"),       // classmate, 5Б
        ("maxim", "Петров Максим Дмитриевич"),       // student, 7А
        ("ivanova", "Иванова Мария Петровна"),       // Артём's mother
        ("salimova", "Салимова Гульнара Ахмедовна"), // another family's parent, 5Б
        ("volkov", "Волков Дмитрий Александрович"),  // class teacher of 7А
        ("orlova", "Орлова Наталья Игоревна"),       // teacher of 5Б
    ])
    .await;
    let (stranger, _) = server.user("stranger").await;
    let who = |name: &str| &people[name].0;
    let id = |name: &str| people[name].1;
    let artem = id("artem");

    // Nobody outside his circle starts a chat with him, adds him to one, or finds him.
    for outsider in [&stranger, who("salimova"), who("maxim")] {
        assert_refused(direct(outsider, artem).await, ErrorCode::Safeguarding, 403);
        let group = outsider
            .create_chat(&kolokol_client::proto::CreateChatRequest {
                kind: ChatKind::Group,
                title: Some("Кружок".into()),
                member_ids: Some(vec![artem]),
                privacy: kolokol_proto::ChatPrivacy::Community,
            })
            .await;
        assert_refused(group, ErrorCode::Safeguarding, 403);
        let (empty, _) = outsider
            .create_chat(&kolokol_client::proto::CreateChatRequest {
                kind: ChatKind::Group,
                title: Some("Кружок".into()),
                member_ids: None,
                privacy: kolokol_proto::ChatPrivacy::Community,
            })
            .await
            .unwrap();
        assert_refused(
            outsider.add_members(empty.id, &[artem]).await,
            ErrorCode::Safeguarding,
            403,
        );
        assert_refused(outsider.user(artem).await, ErrorCode::UserNotFound, 404);
        assert_refused(
            outsider.user_by_username("artem").await,
            ErrorCode::UserNotFound,
            404,
        );
    }
    // By default he reaches only his class's teachers and his own guardians: no other student
    // directly, not even a classmate (they talk in the class chat).
    for (whom, allowed) in [
        ("alena", false),
        ("orlova", true),
        ("ivanova", true),
        ("maxim", false),
        ("salimova", false),
        ("volkov", false),
    ] {
        let result = direct(who("artem"), id(whom)).await;
        if allowed {
            result.unwrap_or_else(|e| panic!("Артём → {whom}: {e}"));
        } else {
            assert_refused(result, ErrorCode::Safeguarding, 403);
        }
    }
    let stranger_id = stranger.me().await.unwrap().user.id;
    assert_refused(
        direct(who("artem"), stranger_id).await,
        ErrorCode::Safeguarding,
        403,
    );

    // His school's staff and his mother may; his classmate may not start a chat with him.
    assert_refused(
        direct(who("alena"), artem).await,
        ErrorCode::Safeguarding,
        403,
    );
    for insider in ["volkov", "ivanova"] {
        assert_eq!(
            who(insider).user_by_username("artem").await.unwrap().id,
            artem
        );
        direct(who(insider), artem)
            .await
            .unwrap_or_else(|e| panic!("{insider} → Артём: {e}"));
    }
    // Adults are not restricted among themselves.
    direct(&stranger, id("salimova")).await.unwrap();

    // An invite link is no way around it: he joins only chats of people he may reach, and
    // nobody outside his circle joins a chat he is in.
    async fn invite_to(owner: &Client, members: Vec<i64>) -> String {
        let (chat, _) = owner
            .create_chat(&kolokol_client::proto::CreateChatRequest {
                kind: ChatKind::Group,
                title: Some("Кружок".into()),
                member_ids: Some(members),
                privacy: kolokol_proto::ChatPrivacy::Community,
            })
            .await
            .unwrap();
        let request = kolokol_client::proto::CreateInviteRequest {
            expires_in_secs: None,
            max_uses: None,
        };
        owner.create_invite(chat.id, &request).await.unwrap().code
    }
    let strangers_club = invite_to(&stranger, vec![]).await;
    assert_refused(
        who("artem").join_by_invite(&strangers_club).await,
        ErrorCode::Safeguarding,
        403,
    );
    who("salimova")
        .join_by_invite(&strangers_club)
        .await
        .unwrap();
    let class_club = invite_to(who("orlova"), vec![artem]).await;
    assert_refused(
        stranger.join_by_invite(&class_club).await,
        ErrorCode::Safeguarding,
        403,
    );
    // A classmate does not join it by link (by default she may not reach him); his mother may.
    assert_refused(
        who("alena").join_by_invite(&class_club).await,
        ErrorCode::Safeguarding,
        403,
    );
    who("ivanova").join_by_invite(&class_club).await.unwrap();

    // Nor is a bot: a stranger's bot cannot be opened by a student.
    let bot = kolokol_client::proto::CreateBotRequest {
        username: "club_bot".into(),
        name: "Кружок".into(),
    };
    stranger.create_bot(&bot).await.unwrap();
    assert_refused(
        who("artem").start_bot("club_bot", Some("join")).await,
        ErrorCode::Safeguarding,
        403,
    );
    who("salimova").start_bot("club_bot", None).await.unwrap();
}

#[tokio::test]
async fn chat_admins_see_who_has_read_per_family() {
    let (server, people) = claimed_school(&[
        ("smirnova", "Смирнова Ольга Викторовна"), // class teacher of 5Б
        ("ivanova", "Иванова Мария Петровна"),     // Артём's mother, 5Б
        ("salimova", "Салимова Гульнара Ахмедовна"), // Тимур's mother, 5Б
    ])
    .await;
    let who = |name: &str| &people[name].0;
    let chat_id = |client: &Client, title: &'static str| {
        let client = client.clone();
        async move {
            client
                .chats()
                .await
                .unwrap()
                .into_iter()
                .find(|chat| chat.title.as_deref() == Some(title))
                .unwrap_or_else(|| panic!("no chat {title}"))
                .id
        }
    };
    let parents = chat_id(who("smirnova"), "5Б · родители").await;
    let notice = super::common::send(who("smirnova"), parents, "n1", "Собрание в четверг в 18:00")
        .await
        .unwrap();

    let reach = who("smirnova")
        .message_reach(parents, notice.seq)
        .await
        .unwrap();
    assert_eq!((reach.members, reach.read), (2, 0));
    assert_eq!(reach.families.len(), 5, "every family of 5Б, joined or not");
    assert!(
        reach
            .families
            .iter()
            .all(|family| !family.read && family.unit == "5Б")
    );

    who("ivanova").mark_read(parents, notice.seq).await.unwrap();
    let reach = who("smirnova")
        .message_reach(parents, notice.seq)
        .await
        .unwrap();
    assert_eq!((reach.members, reach.read), (2, 1));
    let ivanov = reach
        .families
        .iter()
        .find(|family| family.student == "Иванов Артём Сергеевич")
        .unwrap();
    assert!(ivanov.read);
    let guardians: Vec<_> = ivanov
        .guardians
        .iter()
        .map(|g| (g.name.as_str(), g.joined, g.read))
        .collect();
    assert_eq!(
        guardians,
        [
            ("Иванов Сергей Николаевич", false, false),
            ("Иванова Мария Петровна", true, true),
        ]
    );
    let unread: Vec<_> = reach
        .families
        .iter()
        .filter(|family| !family.read)
        .map(|family| family.student.as_str())
        .collect();
    assert_eq!(
        unread,
        [
            "Петрова Алёна Дмитриевна",
            "Салимов Тимур Рустамович",
            "Соколова-Вейс Анна Михайловна",
            "Фёдоров Илья Олегович",
        ]
    );

    // The announcement channel covers every class.
    let channel = chat_id(who("smirnova"), "Школа №1234 · объявления").await;
    let announcement = super::common::send(who("smirnova"), channel, "a1", "Каникулы с 28 октября")
        .await
        .unwrap();
    let reach = who("smirnova")
        .message_reach(channel, announcement.seq)
        .await
        .unwrap();
    assert_eq!(reach.families.len(), 9, "5 families in 5Б and 4 in 7А");

    // Members who are not admins, outsiders and missing messages are refused.
    assert_refused(
        who("salimova").message_reach(parents, notice.seq).await,
        ErrorCode::Forbidden,
        403,
    );
    let (stranger, _) = server.user("stranger").await;
    assert_refused(
        stranger.message_reach(parents, notice.seq).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        who("smirnova").message_reach(parents, 99).await,
        ErrorCode::MessageNotFound,
        404,
    );
}

#[tokio::test]
async fn acknowledgements_are_asked_by_admins_and_counted_per_family() {
    let (server, people) = claimed_school(&[
        ("smirnova", "Смирнова Ольга Викторовна"),
        ("ivanova", "Иванова Мария Петровна"),
        ("salimova", "Салимова Гульнара Ахмедовна"),
    ])
    .await;
    let who = |name: &str| &people[name].0;
    let parents = who("smirnova")
        .chats()
        .await
        .unwrap()
        .into_iter()
        .find(|chat| chat.title.as_deref() == Some("5Б · родители"))
        .unwrap()
        .id;
    let ask = |id: &str, text: &str| kolokol_client::proto::SendMessageRequest {
        client_msg_id: id.into(),
        text: text.into(),
        reply_to: None,
        request_ack: true,
        urgent: false,
        thread_of: None,
        poll: None,
        attachments: Vec::new(),
        mls: None,
    };
    let (notice, _) = who("smirnova")
        .send_message(parents, &ask("n1", "Экскурсия в пятницу: нужна подпись"))
        .await
        .unwrap();

    // A member may not ask, and nothing is sent when refused.
    assert_refused(
        who("salimova")
            .send_message(parents, &ask("s1", "Всем подтвердить!"))
            .await,
        ErrorCode::Forbidden,
        403,
    );
    let history = who("salimova")
        .messages(parents, kolokol_client::Page::default())
        .await
        .unwrap();
    assert_eq!(history.len(), 1);

    assert_eq!(
        who("ivanova").ack_requests(parents).await.unwrap(),
        [kolokol_client::proto::AckRequest {
            seq: notice.seq,
            acked: false
        }]
    );
    who("ivanova")
        .acknowledge(parents, notice.seq)
        .await
        .unwrap();
    who("ivanova")
        .acknowledge(parents, notice.seq)
        .await
        .unwrap();
    assert!(who("ivanova").ack_requests(parents).await.unwrap()[0].acked);

    let reach = who("smirnova")
        .message_reach(parents, notice.seq)
        .await
        .unwrap();
    assert!(reach.ack_requested);
    assert_eq!(reach.acked, 1);
    let acked: Vec<_> = reach
        .families
        .iter()
        .filter(|family| family.acked)
        .map(|family| family.student.as_str())
        .collect();
    assert_eq!(acked, ["Иванов Артём Сергеевич"]);

    // Only messages that ask can be acknowledged, and only by members.
    let plain = super::common::send(who("smirnova"), parents, "p1", "Спасибо всем")
        .await
        .unwrap();
    assert_refused(
        who("ivanova").acknowledge(parents, plain.seq).await,
        ErrorCode::NotFound,
        404,
    );
    let (stranger, _) = server.user("stranger").await;
    assert_refused(
        stranger.acknowledge(parents, notice.seq).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        stranger.ack_requests(parents).await,
        ErrorCode::NotMember,
        403,
    );
}

#[tokio::test]
async fn staff_carry_a_badge_from_the_roster_that_a_name_cannot_fake() {
    let (server, people) = claimed_school(&[
        ("smirnova", "Смирнова Ольга Викторовна"), // class teacher of 5Б, mother in 7А
        ("ivanova", "Иванова Мария Петровна"),     // a mother in 5Б
    ])
    .await;
    let who = |name: &str| &people[name].0;
    let parents = who("ivanova")
        .chats()
        .await
        .unwrap()
        .into_iter()
        .find(|chat| chat.title.as_deref() == Some("5Б · родители"))
        .unwrap();
    // An impostor with the teacher's very name, in a group with the mother.
    let (impostor, impostor_user) = server.user("impostor").await;
    impostor
        .update_profile(&kolokol_client::proto::UpdateProfileRequest {
            display_name: Some("Смирнова Ольга Викторовна".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let group = super::common::group(&impostor, "Родители 5Б", &[people["ivanova"].1]).await;

    let members = who("ivanova").members(parents.id).await.unwrap();
    let badge = |members: &[kolokol_client::proto::Member], id: i64| {
        members
            .iter()
            .find(|member| member.user.id == id)
            .unwrap()
            .staff
            .clone()
    };
    let teacher = badge(&members, people["smirnova"].1).expect("the class teacher is verified");
    assert_eq!(teacher.org, "Школа №1234");
    let places: Vec<(&str, &str)> = teacher
        .places
        .iter()
        .map(|place| (place.unit.as_str(), place.role.as_str()))
        .collect();
    assert_eq!(
        places,
        [("5Б", "class_teacher")],
        "her parent place is not a badge"
    );
    assert_eq!(
        badge(&members, people["ivanova"].1),
        None,
        "parents carry none"
    );

    let members = who("ivanova").members(group.id).await.unwrap();
    assert_eq!(
        badge(&members, impostor_user.id),
        None,
        "a name alone gives none"
    );
}

#[tokio::test]
async fn reports_reach_the_orgs_queue_and_every_admin_action_is_audited() {
    let ClaimedSchool {
        server,
        director,
        org,
        people,
    } = claimed_school_with_admin(&[
        ("smirnova", "Смирнова Ольга Викторовна"),
        ("ivanova", "Иванова Мария Петровна"),
        ("salimova", "Салимова Гульнара Ахмедовна"),
    ])
    .await;
    let who = |name: &str| &people[name].0;
    let parents = who("ivanova")
        .chats()
        .await
        .unwrap()
        .into_iter()
        .find(|chat| chat.title.as_deref() == Some("5Б · родители"))
        .unwrap()
        .id;
    let spam = super::common::send(who("salimova"), parents, "s1", "Реклама: курсы английского")
        .await
        .unwrap();

    // Members report to the school's queue; bad reasons, outsiders and private chats refuse.
    assert_refused(
        who("ivanova").report(parents, spam.seq, "  ").await,
        ErrorCode::BadRequest,
        400,
    );
    let (stranger, _) = server.user("stranger").await;
    assert_refused(
        stranger.report(parents, spam.seq, "спам").await,
        ErrorCode::NotMember,
        403,
    );
    let private = super::common::group(who("ivanova"), "Мамы", &[people["salimova"].1]).await;
    let there = super::common::send(who("salimova"), private.id, "p1", "привет")
        .await
        .unwrap();
    assert_refused(
        who("ivanova").report(private.id, there.seq, "спам").await,
        ErrorCode::NotFound,
        404,
    );
    who("ivanova")
        .report(parents, spam.seq, "спам")
        .await
        .unwrap();

    // Only the org's admins see the queue and act on it.
    assert_refused(
        who("smirnova").reports(org.id, false).await,
        ErrorCode::Forbidden,
        403,
    );
    let queue = director.reports(org.id, false).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (
            queue[0].text.as_str(),
            queue[0].reason.as_str(),
            queue[0].author_id
        ),
        ("Реклама: курсы английского", "спам", people["salimova"].1)
    );
    assert_refused(
        who("smirnova")
            .resolve_report(org.id, queue[0].id, ReportAction::DeleteMessage)
            .await,
        ErrorCode::Forbidden,
        403,
    );
    let resolved = director
        .resolve_report(org.id, queue[0].id, ReportAction::DeleteMessage)
        .await
        .unwrap();
    assert_eq!(resolved.resolution.as_deref(), Some("message_deleted"));
    assert!(director.reports(org.id, false).await.unwrap().is_empty());
    let history = who("ivanova")
        .messages(parents, Default::default())
        .await
        .unwrap();
    assert!(history.iter().any(|m| m.seq == spam.seq && m.deleted));

    // The class teacher moderates her chat; each action is logged for the school.
    let rude = super::common::send(who("salimova"), parents, "s2", "грубость")
        .await
        .unwrap();
    who("smirnova")
        .delete_message(parents, rude.seq)
        .await
        .unwrap();
    let notice = super::common::send(who("smirnova"), parents, "n1", "Собрание в четверг")
        .await
        .unwrap();
    who("smirnova")
        .pin(parents, Some(notice.seq))
        .await
        .unwrap();
    // Her chat's rules, a mute, an invite link, and a member added and removed by hand.
    let slow = kolokol_client::proto::ChatSettingsRequest {
        posting: None,
        slow_mode_secs: Some(30),
    };
    who("smirnova")
        .set_chat_settings(parents, &slow)
        .await
        .unwrap();
    let salimova = people["salimova"].1;
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 3_600_000;
    who("smirnova")
        .mute(parents, salimova, Some(in_an_hour))
        .await
        .unwrap();
    let link = kolokol_client::proto::CreateInviteRequest {
        expires_in_secs: None,
        max_uses: None,
    };
    let invite = who("smirnova").create_invite(parents, &link).await.unwrap();
    who("smirnova")
        .revoke_invite(parents, &invite.code)
        .await
        .unwrap();
    let (helper, helper_user) = server.user("helper").await;
    drop(helper);
    // One already in the chat is not named as added.
    who("smirnova")
        .add_members(parents, &[helper_user.id, salimova])
        .await
        .unwrap();
    who("smirnova")
        .remove_member(parents, helper_user.id)
        .await
        .unwrap();
    who("smirnova")
        .rename_chat(parents, "5Б · родители и учитель")
        .await
        .unwrap();
    // Deleting one's own message is not moderation.
    let own = super::common::send(who("ivanova"), parents, "i1", "опечатка")
        .await
        .unwrap();
    who("ivanova")
        .delete_message(parents, own.seq)
        .await
        .unwrap();

    assert_refused(
        who("smirnova").audit_log(org.id, None).await,
        ErrorCode::Forbidden,
        403,
    );
    let log = director.audit_log(org.id, None).await.unwrap();
    let actions: Vec<(&str, i64)> = log
        .iter()
        .map(|entry| (entry.action.as_str(), entry.actor_id))
        .collect();
    let smirnova = people["smirnova"].1;
    let director_id = log.last().unwrap().actor_id;
    let helper = helper_user.id;
    assert_eq!(
        log.iter()
            .take(7)
            .map(|entry| entry.detail.as_str())
            .collect::<Vec<_>>(),
        [
            format!("chat {parents}").as_str(),
            &format!("chat {parents}: user {helper}"),
            &format!("chat {parents}: user {helper}"),
            &format!("chat {parents}"),
            &format!("chat {parents}"),
            &format!("chat {parents}: user {salimova} until {}", in_an_hour),
            &format!("chat {parents}: posting everyone, slow mode 30 s"),
        ]
    );
    assert_eq!(
        actions,
        [
            ("chat.renamed", smirnova),
            ("member.removed", smirnova),
            ("member.added", smirnova),
            ("invite.revoked", smirnova),
            ("invite.created", smirnova),
            ("member.muted", smirnova),
            ("chat.settings", smirnova),
            ("message.pinned", smirnova),
            ("message.deleted", smirnova),
            ("report.resolved", director_id),
            ("claim_codes.issued", director_id),
            ("roster.imported", director_id),
            ("org.created", director_id),
        ]
    );
    assert!(
        log.iter()
            .all(|entry| !entry.detail.contains("Реклама") && !entry.detail.contains("грубость")),
        "the log names messages by id, never by text"
    );
}

#[tokio::test]
async fn the_year_end_rollover_moves_classes_up_and_archives_leavers_read_only() {
    use kolokol_client::proto::{Posting, RolloverRequest};
    let (server, director, org) = school().await;
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let codes = codes(&director, &org).await;
    let (smirnova, _) = server.user("smirnova").await; // class teacher of 5Б, a mother in 7А
    smirnova
        .claim(&codes["Смирнова Ольга Викторовна"].code)
        .await
        .unwrap();
    let titles = |client: &Client| {
        let client = client.clone();
        async move { chats_of(&client).await.into_keys().collect::<Vec<_>>() }
    };
    let before = titles(&smirnova).await;
    assert!(before.contains(&"5Б · родители".to_owned()));

    // Only admins; a dry run changes nothing. (Here 7А is the final grade.)
    let request = |dry_run| RolloverRequest {
        final_grade: Some(7),
        dry_run,
    };
    assert_refused(
        smirnova.rollover(org.id, &request(true)).await,
        ErrorCode::Forbidden,
        403,
    );
    let dry = director.rollover(org.id, &request(true)).await.unwrap();
    assert_eq!(
        dry.moves
            .iter()
            .map(|m| (m.from.as_str(), m.to.as_str()))
            .collect::<Vec<_>>(),
        [("5Б", "6Б")]
    );
    assert_eq!(dry.leavers.len(), 1);
    assert!(dry.leavers[0].to.starts_with("7А (выпуск "));
    assert_eq!(titles(&smirnova).await, before, "a dry run changes nothing");

    let done = director.rollover(org.id, &request(false)).await.unwrap();
    assert_eq!(
        (done.moves.clone(), done.leavers.clone()),
        (dry.moves, dry.leavers.clone())
    );
    let chats = smirnova.chats().await.unwrap();
    let chat = |title: &str| {
        chats
            .iter()
            .find(|chat| chat.title.as_deref() == Some(title))
            .unwrap_or_else(|| panic!("no chat {title} in {chats:?}"))
            .clone()
    };
    let moved = chat("6Б · родители");
    assert_eq!(moved.posting, Posting::Everyone);
    super::common::send(&smirnova, moved.id, "m1", "Мы теперь 6Б")
        .await
        .unwrap();
    let archived = chat(&format!("{} · родители", dry.leavers[0].to));
    assert_eq!(
        archived.posting,
        Posting::Nobody,
        "the leavers' chat is read-only"
    );
    assert_refused(
        super::common::send(&smirnova, archived.id, "m2", "привет").await,
        ErrorCode::Forbidden,
        403,
    );
    let roster = director.roster(org.id).await.unwrap();
    let units: Vec<(&str, bool)> = roster
        .units
        .iter()
        .map(|unit| (unit.name.as_str(), unit.archived))
        .collect();
    assert!(units.contains(&("6Б", false)));
    assert!(units.contains(&(dry.leavers[0].to.as_str(), true)));
    let log = director.audit_log(org.id, None).await.unwrap();
    assert_eq!(log[0].action, "roster.rollover");
    // Once a year: a second run would move everyone up again.
    assert_refused(
        director.rollover(org.id, &request(false)).await,
        ErrorCode::BadRequest,
        400,
    );
    assert_eq!(
        chats_of(&smirnova)
            .await
            .into_keys()
            .filter(|t| t.starts_with("6Б"))
            .count(),
        2,
        "nothing moved twice"
    );
}

#[tokio::test]
async fn the_safeguarding_lead_reviews_staff_student_direct_chats_and_is_audited() {
    let ClaimedSchool {
        server,
        director,
        org,
        people,
    } = claimed_school_with_admin(&[
        ("kuznetsov", "Кузнецов Павел Андреевич"), // teacher
        ("artem", "Иванов Артём Сергеевич"),       // student, 5Б
        ("ivanova", "Иванова Мария Петровна"),     // his mother
    ])
    .await;
    let (lead, lead_user) = server.user("lead").await;

    // Only admins give roles, and only the two there are.
    assert_refused(
        people["kuznetsov"]
            .0
            .grant_org_role(org.id, "lead", "safeguarding_lead")
            .await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        director.grant_org_role(org.id, "lead", "headmaster").await,
        ErrorCode::InvalidRole,
        400,
    );
    director
        .grant_org_role(org.id, "lead", "safeguarding_lead")
        .await
        .unwrap();

    let (teacher_student, _) = direct(&people["kuznetsov"].0, people["artem"].1)
        .await
        .unwrap();
    super::common::send(
        &people["kuznetsov"].0,
        teacher_student.id,
        "t1",
        "Артём, принеси тетрадь",
    )
    .await
    .unwrap();
    let (parent_teacher, _) = direct(&people["ivanova"].0, people["kuznetsov"].1)
        .await
        .unwrap();
    // Both sides of a staff–student chat are told the lead may read it; nobody else is.
    let notice = Some(kolokol_client::proto::SafeguardingNotice {
        org_id: org.id,
        org: org.name.clone(),
    });
    assert_eq!(teacher_student.safeguarding, notice);
    let seen_by_student = people["artem"].0.chat(teacher_student.id).await.unwrap();
    assert_eq!(seen_by_student.safeguarding, notice);
    let listed = people["artem"].0.chats().await.unwrap();
    let in_list = listed.iter().find(|chat| chat.id == teacher_student.id);
    assert_eq!(in_list.unwrap().safeguarding, notice);
    assert_eq!(parent_teacher.safeguarding, None);

    // Being an admin is not enough; the lead sees exactly the staff–student chats.
    assert_refused(
        director.reviewed_chats(org.id).await,
        ErrorCode::Forbidden,
        403,
    );
    let chats = lead.reviewed_chats(org.id).await.unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(
        (
            chats[0].chat_id,
            chats[0].staff_name.as_str(),
            chats[0].student_name.as_str()
        ),
        (
            teacher_student.id,
            "Кузнецов Павел Андреевич",
            "Иванов Артём Сергеевич"
        )
    );
    let texts: Vec<String> = lead
        .review_chat(org.id, teacher_student.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["Артём, принеси тетрадь"]);
    assert_refused(
        lead.review_chat(org.id, parent_teacher.id).await,
        ErrorCode::NotFound,
        404,
    );
    // Every reading is in the school's audit log.
    let log = director.audit_log(org.id, None).await.unwrap();
    assert_eq!(
        (
            log[0].action.as_str(),
            log[0].actor_id,
            log[0].detail.clone()
        ),
        (
            "safeguarding.viewed",
            lead_user.id,
            format!("chat {}", teacher_student.id)
        )
    );

    // Admins see who holds the org's roles; others may not.
    let director_id = log.last().unwrap().actor_id;
    let holders = |list: kolokol_client::proto::OrgRoleList| -> Vec<(i64, String)> {
        list.roles
            .into_iter()
            .map(|holder| (holder.user.id, holder.role))
            .collect()
    };
    assert_eq!(
        holders(director.org_roles(org.id).await.unwrap()),
        [
            (director_id, "admin".to_owned()),
            (lead_user.id, "safeguarding_lead".to_owned())
        ]
    );
    assert_refused(lead.org_roles(org.id).await, ErrorCode::Forbidden, 403);
    // The school's admins find its students by id (to name them in reports and the log);
    // someone outside the school still does not.
    let artem = people["artem"].1;
    assert_eq!(director.user(artem).await.unwrap().id, artem);
    assert_refused(lead.user(artem).await, ErrorCode::UserNotFound, 404);

    // The last admin cannot be removed; the lead's role can be taken back.
    assert_refused(
        director.revoke_org_role(org.id, director_id, "admin").await,
        ErrorCode::OwnerMustTransfer,
        409,
    );
    director
        .revoke_org_role(org.id, lead_user.id, "safeguarding_lead")
        .await
        .unwrap();
    assert_refused(lead.reviewed_chats(org.id).await, ErrorCode::Forbidden, 403);
    assert_eq!(
        holders(director.org_roles(org.id).await.unwrap()),
        [(director_id, "admin".to_owned())]
    );
}

#[tokio::test]
async fn a_school_relaxes_whom_its_students_reach() {
    use kolokol_client::proto::{OrgPolicy, StudentContacts};
    let ClaimedSchool {
        server: _server,
        director,
        org,
        people,
    } = claimed_school_with_admin(&[
        ("artem", "Иванов Артём Сергеевич"),   // 5Б
        ("alena", "Петрова Алёна Дмитриевна"), // his classmate
        ("maxim", "Петров Максим Дмитриевич"), // 7А
    ])
    .await;
    let policy = |student_contacts| OrgPolicy {
        student_contacts,
        ..OrgPolicy::default()
    };
    // By default no student starts a direct chat with another, not even a classmate.
    assert_eq!(
        director.orgs().await.unwrap()[0].policy.student_contacts,
        StudentContacts::Staff
    );
    assert_refused(
        direct(&people["alena"].0, people["artem"].1).await,
        ErrorCode::Safeguarding,
        403,
    );
    // Looser: classmates write to each other; other classes still do not.
    director
        .set_org_policy(org.id, &policy(StudentContacts::Class))
        .await
        .unwrap();
    direct(&people["alena"].0, people["artem"].1).await.unwrap();
    assert_refused(
        direct(&people["maxim"].0, people["artem"].1).await,
        ErrorCode::Safeguarding,
        403,
    );
    // Loosest: the whole school.
    director
        .set_org_policy(org.id, &policy(StudentContacts::School))
        .await
        .unwrap();
    direct(&people["maxim"].0, people["artem"].1).await.unwrap();
    let log = director.audit_log(org.id, None).await.unwrap();
    assert!(
        log[0].detail.ends_with("students reach school"),
        "{}",
        log[0].detail
    );
}

/// Org admins approve bots: only approved bots join the school's chats, and students open only
/// those; every approval is in the audit log.
#[tokio::test]
async fn schools_approve_the_bots_their_chats_and_students_use() {
    use kolokol_client::proto::CreateBotRequest;
    let ClaimedSchool {
        server,
        director,
        org,
        people,
    } = claimed_school_with_admin(&[
        ("artem", "Иванов Артём Сергеевич"),       // student, 5Б
        ("smirnova", "Смирнова Ольга Викторовна"), // class teacher, 5Б
    ])
    .await;
    let (vendor, _) = server.user("vendor").await;
    let bot = |username: &str| CreateBotRequest {
        username: username.into(),
        name: "Дневник".into(),
    };
    let diary = vendor.create_bot(&bot("diary_bot")).await.unwrap().bot;
    let spam = vendor.create_bot(&bot("spam_bot")).await.unwrap().bot;
    let (artem, smirnova) = (&people["artem"].0, &people["smirnova"].0);

    // Before approval: a student cannot open it, a class chat does not take it.
    assert_refused(
        artem.start_bot("diary_bot", None).await,
        ErrorCode::Safeguarding,
        403,
    );
    let class_chat = smirnova
        .chats()
        .await
        .unwrap()
        .into_iter()
        .find(|chat| chat.title.as_deref() == Some("5Б · класс"))
        .expect("the class chat")
        .id;
    assert_refused(
        smirnova.add_members(class_chat, &[diary.id]).await,
        ErrorCode::Forbidden,
        403,
    );

    // Only admins approve.
    assert_refused(
        smirnova.allow_bot(org.id, "diary_bot").await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        smirnova.allowed_bots(org.id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        smirnova.disallow_bot(org.id, diary.id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        director.allow_bot(org.id, "vendor").await,
        ErrorCode::UserNotFound,
        404,
    );
    director.allow_bot(org.id, "diary_bot").await.unwrap();
    let approved = director.allowed_bots(org.id).await.unwrap();
    assert_eq!(
        approved.iter().map(|b| b.id).collect::<Vec<_>>(),
        [diary.id]
    );
    // Saving the other rules keeps the approvals.
    director
        .set_org_policy(org.id, &Default::default())
        .await
        .unwrap();
    assert_eq!(director.allowed_bots(org.id).await.unwrap().len(), 1);

    // After: the student opens it, the class chat takes it, and only it.
    let chat = artem.start_bot("diary_bot", Some("5b")).await.unwrap();
    assert_eq!(chat.peer.map(|peer| peer.id), Some(diary.id));
    smirnova.add_members(class_chat, &[diary.id]).await.unwrap();
    assert_refused(
        smirnova.add_members(class_chat, &[spam.id]).await,
        ErrorCode::Forbidden,
        403,
    );
    // The roster seats people: importing it again leaves the bot where it is.
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let members = smirnova.members(class_chat).await.unwrap();
    assert!(members.iter().any(|member| member.user.id == diary.id));

    director.allow_bot(org.id, "diary_bot").await.unwrap();
    director.disallow_bot(org.id, diary.id).await.unwrap();
    assert!(director.allowed_bots(org.id).await.unwrap().is_empty());
    assert_refused(
        director.disallow_bot(org.id, diary.id).await,
        ErrorCode::NotFound,
        404,
    );
    let log = director.audit_log(org.id, None).await.unwrap();
    let actions: Vec<&str> = log
        .iter()
        .take(5)
        .map(|entry| entry.action.as_str())
        .collect();
    // Approving the approved bot again wrote nothing.
    assert_eq!(
        actions,
        [
            "bot.disallowed",
            "roster.imported",
            "member.added",
            "policy.set",
            "bot.allowed"
        ]
    );
}

/// A school's room for files (its policy, else the server's default) covers the files sent in
/// its chats; a person's own room the rest. Its retention takes files out of its chats once
/// they are old enough, and the collector deletes them.
#[tokio::test]
async fn a_schools_files_have_their_room_and_their_time() {
    use kolokol_client::proto::{AttachmentKind, OrgPolicy, SendMessageRequest, UploadRequest};
    let start = 1_800_000_000_000;
    let clock = kolokol_server::clock::Clock::manual(start);
    let ClaimedSchool {
        server: _server,
        director,
        org,
        people,
    } = claimed_school_configured(
        &[
            ("smirnova", "Смирнова Ольга Викторовна"),
            ("ivanova", "Иванова Мария Петровна"),
        ],
        |settings| {
            settings.clock = clock.clone();
            settings.media_user_quota_bytes = 1 << 20;
            settings.media_sweep_every = std::time::Duration::from_millis(50);
        },
    )
    .await;
    let (teacher, mother) = (&people["smirnova"].0, &people["ivanova"].0);
    let mother_id = people["ivanova"].1;
    let parents = teacher
        .chats()
        .await
        .unwrap()
        .into_iter()
        .find(|chat| chat.title.as_deref() == Some("5Б · родители"))
        .unwrap()
        .id;
    let file = vec![b'%'; 600 << 10];
    let upload = |size: usize| UploadRequest {
        kind: AttachmentKind::File,
        size: size as u64,
        name: Some("Домашка.pdf".into()),
        duration_ms: None,
        waveform: Vec::new(),
    };
    let policy = |quota_mb, retention_days| OrgPolicy {
        media_quota_mb: quota_mb,
        media_retention_days: retention_days,
        ..OrgPolicy::default()
    };
    assert_refused(
        director
            .set_org_policy(org.id, &policy(Some(0), None))
            .await,
        ErrorCode::InvalidPolicy,
        400,
    );
    assert_refused(
        director
            .set_org_policy(org.id, &policy(None, Some(0)))
            .await,
        ErrorCode::InvalidPolicy,
        400,
    );
    director
        .set_org_policy(org.id, &policy(Some(1), Some(30)))
        .await
        .unwrap();

    // The school's 1 MiB takes one 600 KiB file, not two; the teacher's own 1 MiB is apart.
    let homework = teacher
        .upload(parents, &upload(file.len()), &file, 1 << 20)
        .await
        .unwrap();
    assert_refused(
        teacher.begin_upload(parents, &upload(file.len())).await,
        ErrorCode::QuotaExceeded,
        413,
    );
    let own = kolokol_client::proto::CreateChatRequest {
        kind: kolokol_client::proto::ChatKind::Direct,
        title: None,
        member_ids: Some(vec![mother_id]),
        privacy: kolokol_proto::ChatPrivacy::Community,
    };
    let (direct, _) = teacher.create_chat(&own).await.unwrap();
    teacher
        .upload(direct.id, &upload(file.len()), &file, 1 << 20)
        .await
        .unwrap();
    assert_refused(
        teacher.begin_upload(direct.id, &upload(file.len())).await,
        ErrorCode::QuotaExceeded,
        413,
    );

    let send = SendMessageRequest {
        client_msg_id: "homework".into(),
        text: "Домашнее задание".into(),
        attachments: vec![homework.id],
        ..Default::default()
    };
    teacher.send_message(parents, &send).await.unwrap();
    assert_eq!(
        mother
            .media_links(parents, vec![homework.id])
            .await
            .unwrap()
            .len(),
        1
    );
    // Past the school's 30 days, the file goes; the message stays.
    clock.set(start + 31 * 86_400_000);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !mother
        .media_links(parents, vec![homework.id])
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the file was not taken out"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let messages = mother
        .messages(parents, kolokol_client::Page::default())
        .await
        .unwrap();
    assert!(messages.iter().any(|m| m.text == "Домашнее задание"));
    // Its room is free again once the collector has deleted the file.
    while teacher
        .begin_upload(parents, &upload(file.len()))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the room was not freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = director.audit_log(org.id, None).await.unwrap();
    assert!(
        log.iter()
            .any(|entry| entry.detail.contains("files: 1 MiB, kept 30 days"))
    );
}

#[tokio::test]
async fn a_school_encrypts_its_parents_chats_and_reports_disclose_one_message() {
    let (server, director, org) = school().await;
    let mut policy = kolokol_client::proto::OrgPolicy {
        encrypted_chats: vec!["nursery".into()],
        ..Default::default()
    };
    assert_refused(
        director.set_org_policy(org.id, &policy).await,
        ErrorCode::InvalidPolicy,
        400,
    );
    policy.encrypted_chats = vec!["parents".into(), "parents".into()];
    let info = director.set_org_policy(org.id, &policy).await.unwrap();
    assert_eq!(info.policy.encrypted_chats, ["parents"]);
    director
        .import_roster(org.id, ROSTER.as_bytes().to_vec(), false)
        .await
        .unwrap();
    let codes = codes(&director, &org).await;
    let mut devices = BTreeMap::new();
    let (artem, artem_user) = server.user("artem").await;
    artem
        .claim(&codes["Иванов Артём Сергеевич"].code)
        .await
        .unwrap();
    for (username, name) in [
        ("smirnova", "Смирнова Ольга Викторовна"),
        ("ivanova", "Иванова Мария Петровна"),
        ("salimova", "Салимова Гульнара Ахмедовна"),
    ] {
        let (client, user) = server.user(username).await;
        client.claim(&codes[name].code).await.unwrap();
        let device = kolokol_e2ee::Device::open(client, user.id).await.unwrap();
        devices.insert(username, device);
    }
    let chats = devices["smirnova"].api().chats().await.unwrap();
    let titled = |title: &str| {
        chats
            .iter()
            .find(|chat| chat.title.as_deref() == Some(title))
            .unwrap()
    };
    let parents = titled("5Б · родители");
    assert_eq!(parents.privacy, kolokol_proto::ChatPrivacy::Encrypted);
    for chat in &chats {
        let of_parents = chat
            .title
            .as_deref()
            .is_some_and(|title| title.ends_with("· родители"));
        let expected = match of_parents {
            true => kolokol_proto::ChatPrivacy::Encrypted,
            false => kolokol_proto::ChatPrivacy::Community,
        };
        assert_eq!(chat.privacy, expected, "{:?}", chat.title);
    }

    // A teacher's direct chat with her student stays one the school can review.
    let encrypted_direct = kolokol_client::proto::CreateChatRequest {
        kind: ChatKind::Direct,
        title: None,
        member_ids: Some(vec![artem_user.id]),
        privacy: kolokol_proto::ChatPrivacy::Encrypted,
    };
    assert_refused(
        devices["smirnova"]
            .api()
            .create_chat(&encrypted_direct)
            .await,
        ErrorCode::Forbidden,
        403,
    );

    // The class teacher's device starts the group with every family's device in it.
    let parents = parents.id;
    devices
        .get_mut("smirnova")
        .unwrap()
        .commit(parents)
        .await
        .unwrap();
    for name in ["ivanova", "salimova"] {
        assert_eq!(
            devices
                .get_mut(name)
                .unwrap()
                .accept_welcomes()
                .await
                .unwrap(),
            [parents]
        );
    }
    let spam = devices
        .get_mut("salimova")
        .unwrap()
        .send_text(parents, "Реклама: курсы английского")
        .await
        .unwrap();
    let ivanova = devices.get_mut("ivanova").unwrap();
    let read = ivanova.sync(parents).await.unwrap();
    assert_eq!(read.len(), 1);
    let disclosure = read[0].disclosure.clone();

    // Reporting it discloses that message only, checked against its franking tag.
    assert_refused(
        ivanova.api().report(parents, spam.seq, "спам").await,
        ErrorCode::EncryptionRequired,
        400,
    );
    let forged = String::from_utf8(disclosure.clone())
        .unwrap()
        .replace("Реклама", "Угрозы");
    assert_refused(
        ivanova
            .api()
            .report_disclosing(parents, spam.seq, "спам", Some(forged.into_bytes()))
            .await,
        ErrorCode::DisclosureMismatch,
        400,
    );
    ivanova
        .api()
        .report_disclosing(parents, spam.seq, "спам", Some(disclosure))
        .await
        .unwrap();
    let reports = director.reports(org.id, false).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].text, "Реклама: курсы английского");
}
