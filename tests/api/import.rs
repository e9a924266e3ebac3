//! Importing the volunteer list over HTTP and through the CLI: row errors by line and field,
//! GB18030 detection, dry runs that change nothing, re-runs that change nothing, and opening
//! balances credited at most once per volunteer ever.

use std::process::Command;

use reqwest::{Method, Response};
use serde_json::{json, Value};
use volunteer_points::domain::people::Role;

use crate::helpers::{each, spawn_app, Answer, FreshDatabase, StatusCode, TestApp, TestUser};

/// The report of an import `admin` may run.
async fn import(app: &TestApp, admin: &TestUser, file: impl Into<Vec<u8>>, dry_run: bool) -> Value {
    app.import_volunteers(admin, file, dry_run)
        .expect_json(StatusCode::OK)
        .await
}

/// The figures of a report, without its errors.
fn figures(report: &Value) -> [i64; 6] {
    [
        "rows",
        "created",
        "updated",
        "unchanged",
        "teams_created",
        "opening_points",
    ]
    .map(|k| report[k].as_i64().unwrap_or(-1))
}

fn errors(report: &Value) -> Vec<(i64, String, String)> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().expect("line"),
                e["field"].as_str().expect("field").to_owned(),
                e["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect()
}

/// A dry run of `file` by `admin`, asked for in Chinese.
async fn dry_run_in_chinese(app: &TestApp, admin: &TestUser, file: &str) -> Response {
    let auth = format!("Bearer {}", admin.token);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "text/csv"),
        ("Accept-Language", "zh-CN"),
    ];
    let path = "/volunteers/import?dry_run=true";
    app.send_raw(Method::POST, path, &headers, Some(file)).await
}

/// The person with this phone, as staff see them.
async fn who(app: &TestApp, staff: &TestUser, phone: &str) -> Option<Value> {
    let page = app
        .people(staff, &format!("q={phone}"))
        .expect_json(StatusCode::OK)
        .await;
    page["items"].as_array()?.first().cloned()
}

/// The name of whoever has this phone, as staff see it.
async fn name_of(app: &TestApp, staff: &TestUser, phone: &str) -> Option<String> {
    let person = who(app, staff, phone).await?;
    person["name"].as_str().map(str::to_owned)
}

/// Every team: (name, id).
async fn teams(app: &TestApp, who: &TestUser) -> Vec<(String, String)> {
    let page = app
        .teams(who, "limit=100")
        .expect_json(StatusCode::OK)
        .await;
    let names = each(&page["items"], "name");
    names.into_iter().zip(each(&page["items"], "id")).collect()
}

const FILE: &str = "\u{feff}name,phone,team,team_role,opening_points\r\n\
    李阿姨,13911110001,党员义工队,leader,\r\n\
    王师傅,13911110002,党员义工队,,\r\n\
    坏号码,1391111,党员义工队,,\r\n\
    \"张, \"\"小\"\"明\",13911110003,蒋姐姐助老服务队,member,\r\n\
    重复,13911110002,,,\r\n\
    赵大爷,13911110004,我来说法评理团,captain,\r\n";

#[actix_web::test]
async fn an_import_creates_people_teams_and_memberships_and_reports_bad_rows_by_line() {
    let app = spawn_app().await;
    let admin = app.user_named(Role::Admin, "主任").await;
    let report = import(&app, &admin, FILE, false).await;
    assert_eq!(report["dry_run"], false);
    assert_eq!(figures(&report), [6, 3, 0, 0, 2, 0], "{report}");
    assert_eq!(
        errors(&report),
        [
            (4, "phone".to_owned(), "validation-failed".to_owned()),
            (6, "phone".to_owned(), "duplicate-phone".to_owned()),
            (7, "team_role".to_owned(), "validation-failed".to_owned()),
        ]
    );
    let name = name_of(&app, &admin, "13911110003")
        .await
        .expect("imported");
    assert_eq!(name, "张, \"小\"明");
    assert!(
        who(&app, &admin, "13911110004").await.is_none(),
        "a bad row is skipped"
    );
    let all = teams(&app, &admin).await;
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"党员义工队") && names.contains(&"蒋姐姐助老服务队"));
    let party = &all.iter().find(|(n, _)| n == "党员义工队").expect("team").1;
    let members = app
        .team_members(&admin, party)
        .expect_json(StatusCode::OK)
        .await;
    let phones = each(&members["items"], "phone");
    let mut roles: Vec<(String, String)> = (phones.into_iter())
        .zip(each(&members["items"], "role"))
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            ("13911110001".to_owned(), "leader".to_owned()),
            ("13911110002".to_owned(), "member".to_owned())
        ]
    );
    // Imported people have no password yet: they cannot sign in until the desk sets one.
    app.login("13911110001", "")
        .expect_problem(401, "invalid-credentials")
        .await;
}

#[actix_web::test]
async fn a_second_run_of_the_same_file_changes_nothing_and_a_changed_row_is_updated() {
    let app = spawn_app().await;
    let admin = app.user_named(Role::Admin, "主任").await;
    let file = "phone,name,team\n13922220001,李阿姨,党员义工队\n13922220002,王师傅,\n";
    let first = import(&app, &admin, file, false).await;
    assert_eq!(figures(&first), [2, 2, 0, 0, 1, 0]);
    let again = import(&app, &admin, file, false).await;
    assert_eq!(figures(&again), [2, 0, 0, 2, 0, 0]);
    assert_eq!(again["errors"], json!([]));
    // A new name and a new membership are updates; roles of people are never changed.
    let changed =
        "phone,name,team,team_role\n13922220001,李阿姨,党员义工队,leader\n13922220002,王建国,,\n";
    let report = import(&app, &admin, changed, false).await;
    assert_eq!(figures(&report), [2, 0, 2, 0, 0, 0]);
    let name = name_of(&app, &admin, "13922220002").await.expect("there");
    assert_eq!(name, "王建国");
    assert_eq!(teams(&app, &admin).await.len(), 1);
}

#[actix_web::test]
async fn a_dry_run_answers_the_same_figures_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.user_named(Role::Admin, "主任").await;
    let dry = import(&app, &admin, FILE, true).await;
    assert_eq!(dry["dry_run"], true);
    assert!(who(&app, &admin, "13911110001").await.is_none());
    assert!(teams(&app, &admin).await.is_empty());
    let real = import(&app, &admin, FILE, false).await;
    assert_eq!(figures(&dry), figures(&real));
    assert_eq!(dry["errors"], real["errors"]);
}

/// An import of `file` by `admin` under an `Idempotency-Key`, at `path`.
async fn import_keyed(app: &TestApp, admin: &TestUser, path: &str, key: &str) -> Response {
    let auth = format!("Bearer {}", admin.token);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "text/csv"),
        ("Idempotency-Key", key),
    ];
    app.send_raw(Method::POST, path, &headers, Some(FILE)).await
}

#[actix_web::test]
async fn a_dry_runs_answer_is_kept_under_its_key_which_cannot_then_import_for_real() {
    let app = spawn_app().await;
    let admin = app.user_named(Role::Admin, "主任").await;
    let dry = "/volunteers/import?dry_run=true";
    let first = import_keyed(&app, &admin, dry, "import-1").await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("Idempotent-Replayed").is_none());
    let first = first.text().await.expect("a body");
    let again = import_keyed(&app, &admin, dry, "import-1").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again
            .headers()
            .get("Idempotent-Replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(again.text().await.expect("a body"), first);
    // The real import is another request: under the dry run's key it is refused, not replayed.
    import_keyed(&app, &admin, "/volunteers/import", "import-1")
        .expect_problem(422, "idempotency-key-reused")
        .await;
    assert!(who(&app, &admin, "13911110001").await.is_none());
    assert!(teams(&app, &admin).await.is_empty());
    let real = import_keyed(&app, &admin, "/volunteers/import", "import-2")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(real["dry_run"], false);
    assert!(who(&app, &admin, "13911110001").await.is_some());
}

#[actix_web::test]
async fn a_gb18030_file_with_chinese_names_is_detected_and_read() {
    let app = spawn_app().await;
    let admin = app.user_named(Role::Admin, "主任").await;
    let text =
        "phone,name,team\r\n13933330001,欧阳娜娜,邻里互助队\r\n13933330002,司马光,邻里互助队\r\n";
    let (gb, _, lossy) = encoding_rs::GB18030.encode(text);
    assert!(
        !lossy && std::str::from_utf8(&gb).is_err(),
        "really GB18030"
    );
    let report = import(&app, &admin, gb.into_owned(), false).await;
    assert_eq!(figures(&report), [2, 2, 0, 0, 1, 0], "{report}");
    assert_eq!(
        name_of(&app, &admin, "13933330001").await.expect("there"),
        "欧阳娜娜"
    );
    assert_eq!(teams(&app, &admin).await[0].0, "邻里互助队");
}

/// The balance of the person with this phone and the kinds of their statement, as `staff` read
/// them.
async fn points(app: &TestApp, staff: &TestUser, phone: &str) -> (i64, Vec<String>) {
    let person = who(app, staff, phone).await.expect("imported");
    let id = person["id"].as_str().expect("an id");
    let balance = app
        .points_of(staff, id, "balance")
        .expect_json(StatusCode::OK)
        .await;
    let ledger = app
        .points_of(staff, id, "ledger")
        .expect_json(StatusCode::OK)
        .await;
    let balance = balance["balance"].as_i64().expect("a balance");
    (balance, each(&ledger["items"], "kind"))
}

#[actix_web::test]
async fn an_opening_balance_is_credited_once_ever_and_a_second_file_cannot_credit_it_again() {
    let app = spawn_app().await;
    let admin = app.user_named(Role::Admin, "主任").await;
    let (li, wang) = ("13955550001", "13955550002");
    let first = format!("phone,name,opening_points\n{li},李阿姨,120\n{wang},王师傅,\n");
    let report = import(&app, &admin, first.clone(), false).await;
    assert_eq!(figures(&report), [2, 2, 0, 0, 0, 120], "{report}");
    assert_eq!(
        points(&app, &admin, li).await,
        (120, vec!["opening".to_owned()])
    );
    assert_eq!(points(&app, &admin, wang).await, (0, vec![]));
    let fund = app.fund_figures(&admin).await;
    assert_eq!(fund["points_adjusted"], 120, "{fund}");
    assert_eq!(fund["points_outstanding"], 120);

    // The same file again: nothing changes and nothing is an error.
    let again = import(&app, &admin, first, false).await;
    assert_eq!(figures(&again), [2, 0, 0, 2, 0, 0], "{again}");
    assert_eq!(again["errors"], json!([]));

    // Another file tries another amount for 李阿姨 (with a new name and a new team: the row is
    // refused whole, and the team is not created) and gives 王师傅 his first. The dry run
    // reports the same and changes nothing.
    let second =
        format!("phone,name,team,opening_points\n{li},李秀英,新队,200\n{wang},王师傅,,50\n");
    let dry = import(&app, &admin, second.clone(), true).await;
    assert_eq!(points(&app, &admin, wang).await, (0, vec![]));
    let real = import(&app, &admin, second, false).await;
    assert_eq!(figures(&real), [2, 0, 1, 0, 0, 50], "{real}");
    assert_eq!(figures(&dry), figures(&real));
    assert_eq!(dry["errors"], real["errors"]);
    assert_eq!(
        errors(&real),
        [(
            2,
            "opening_points".to_owned(),
            "opening-already-set".to_owned()
        )]
    );
    let message = real["errors"][0]["message"].as_str().expect("a message");
    assert!(message.contains("120"), "{message}");
    assert_eq!(name_of(&app, &admin, li).await.as_deref(), Some("李阿姨"));
    assert_eq!(teams(&app, &admin).await, [], "no team for a refused row");
    assert_eq!(
        points(&app, &admin, li).await,
        (120, vec!["opening".to_owned()])
    );
    assert_eq!(
        points(&app, &admin, wang).await,
        (50, vec!["opening".to_owned()])
    );
    assert_eq!(app.fund_figures(&admin).await["points_adjusted"], 170);

    // No opening (0 or an empty cell) for someone who has one is no attempt to change it.
    let third = format!("phone,name,opening_points\n{li},李阿姨,0\n{wang},王师傅,\n");
    let report = import(&app, &admin, third, false).await;
    assert_eq!(figures(&report), [2, 0, 0, 2, 0, 0], "{report}");
    assert_eq!(report["errors"], json!([]));

    // The database itself refuses a second opening for an account, whatever code tries.
    let person = who(&app, &admin, li).await.expect("there");
    let sql = format!(
        "INSERT INTO ledger_transactions (id, kind, memo, created_at, opening_account_id) \
         VALUES ('{}', 'opening', 'again', '2026-11-01 00:00:00', '{}')",
        uuid::Uuid::new_v4(),
        person["id"].as_str().expect("an id")
    );
    assert!(app.execute(&sql).is_err(), "the UNIQUE index refuses it");
}

#[actix_web::test]
async fn an_import_is_for_admins_and_a_file_without_a_phone_column_is_refused_whole() {
    let app = spawn_app().await;
    let admin = app.user_named(Role::Admin, "主任").await;
    let staff = app.user_named(Role::Staff, "社工").await;
    app.import_volunteers(&staff, FILE, false)
        .expect_problem(403, "forbidden")
        .await;
    app.import_volunteers(&admin, "name,team\n李阿姨,x\n", false)
        .expect_problem(422, "validation-failed")
        .await;
    app.post(
        "/volunteers/import",
        &admin.token,
        &json!({"phone": "13900000000"}),
    )
    .expect_problem(415, "unsupported-media-type")
    .await;
    let big = format!("phone,name\n{}", "13900000000,x\n".repeat(400_000));
    app.import_volunteers(&admin, big, false)
        .expect_problem(413, "payload-too-large")
        .await;
    assert!(teams(&app, &admin).await.is_empty());
}

#[actix_web::test]
async fn row_errors_and_a_refused_file_are_said_in_the_callers_language() {
    let app = spawn_app().await;
    let admin = app.user_named(Role::Admin, "主任").await;
    let send = |file| dry_run_in_chinese(&app, &admin, file);
    let file = "phone,name,team_role\n13900000001,李阿姨,队长\n13900000001,王师傅,\n";
    let report = send(file).expect_json(StatusCode::OK).await;
    let messages: Vec<&str> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["message"].as_str().expect("a message"))
        .collect();
    // The second row repeats the phone of a refused first row: a repeat all the same.
    assert_eq!(
        messages,
        ["须为 member 或 leader", "该手机号已出现在文件中更早的一行"],
        "{report}"
    );
    let problem = send("name,team\n李阿姨,x\n")
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(problem["errors"][0]["field"], "file");
    assert_eq!(
        problem["errors"][0]["message"],
        "标题行须包含 phone 列和 name 列"
    );
    // A quote never closed would swallow the rows after it: the file is refused whole.
    let problem = send("phone,name\n13900000270,\"王\n13900000271,李\n")
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(
        problem["errors"][0]["message"],
        "第 2 行开始的带引号单元格没有结束引号"
    );
}

/// `import-volunteers FILE [--dry-run]` run as the real binary on `db`: (success, report).
fn import_by_cli(db: &FreshDatabase, file: &std::path::Path, dry_run: bool) -> (bool, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_volunteer-points"));
    cmd.env_clear()
        .env("DATABASE_URL", &db.url)
        .env("JWT_SECRET", "cli-secret-cli-secret-cli-secret-0123456789")
        .arg("import-volunteers")
        .arg(file);
    if dry_run {
        cmd.arg("--dry-run");
    }
    let out = cmd.output().expect("the binary runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "JSON: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

#[test]
fn the_cli_imports_the_same_way_and_exits_1_on_row_errors() {
    let db = FreshDatabase::new("vp_cli");
    let dir = tempfile::tempdir().expect("a folder");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, FILE).expect("written");
    let (success, dry) = import_by_cli(&db, &bad, true);
    assert!(!success, "row errors exit 1");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(figures(&dry), [6, 3, 0, 0, 2, 0]);
    assert_eq!(errors(&dry).len(), 3);
    let (_, real) = import_by_cli(&db, &bad, false);
    assert_eq!(figures(&real), figures(&dry), "the dry run changed nothing");

    let good = dir.path().join("good.csv");
    let (gb, _, _) =
        encoding_rs::GB18030.encode("phone,name,team\n13944440001,欧阳娜娜,党员义工队\n");
    std::fs::write(&good, gb).expect("written");
    let (success, report) = import_by_cli(&db, &good, false);
    assert!(success);
    assert_eq!(figures(&report), [1, 1, 0, 0, 0, 0]);
    let (success, again) = import_by_cli(&db, &good, false);
    assert!(success);
    assert_eq!(figures(&again), [1, 0, 0, 1, 0, 0]);
}
