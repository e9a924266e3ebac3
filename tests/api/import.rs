//! Importing the volunteer list over HTTP and through the CLI: row errors by line and field,
//! GB18030 detection, dry runs that change nothing, and re-runs that change nothing.

use std::process::Command;

use reqwest::{Method, Response};
use serde_json::{json, Value};
use volunteer_points::domain::people::Role;

use crate::helpers::{on_postgres, spawn_app, TestApp};
use crate::reports::{call, ok, person};

async fn import(app: &TestApp, token: &str, file: Vec<u8>, dry_run: bool) -> Response {
    app.client
        .post(format!(
            "{}/api/v1/volunteers/import?dry_run={dry_run}",
            app.address
        ))
        .bearer_auth(token)
        .header("Content-Type", "text/csv")
        .body(file)
        .send()
        .await
        .expect("the request is sent")
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

/// The name of whoever has this phone, as staff see it.
async fn who(app: &TestApp, staff: &str, phone: &str) -> Option<String> {
    let path = format!("/volunteers?q={phone}");
    let page = ok(call(app, Method::GET, &path, staff, None).await, 200).await;
    let user = page["items"].as_array()?.first()?.clone();
    user["name"].as_str().map(str::to_owned)
}

async fn teams(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let page = ok(
        call(app, Method::GET, "/teams?limit=100", token, None).await,
        200,
    )
    .await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or_default().to_owned(),
                t["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
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
    let (_, admin) = person(&app, "主任", Role::Admin).await;
    let report = ok(
        import(&app, &admin, FILE.as_bytes().to_vec(), false).await,
        200,
    )
    .await;
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
    let name = who(&app, &admin, "13911110003").await.expect("imported");
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
    let members = ok(
        call(
            &app,
            Method::GET,
            &format!("/teams/{party}/members"),
            &admin,
            None,
        )
        .await,
        200,
    )
    .await;
    let mut roles: Vec<(String, String)> = members["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| {
            (
                m["phone"].as_str().unwrap_or_default().to_owned(),
                m["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
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
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .json(&json!({"phone": "13911110001", "password": ""}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 401);
}

#[actix_web::test]
async fn a_second_run_of_the_same_file_changes_nothing_and_a_changed_row_is_updated() {
    let app = spawn_app().await;
    let (_, admin) = person(&app, "主任", Role::Admin).await;
    let file = "phone,name,team\n13922220001,李阿姨,党员义工队\n13922220002,王师傅,\n";
    let first = ok(import(&app, &admin, file.into(), false).await, 200).await;
    assert_eq!(figures(&first), [2, 2, 0, 0, 1, 0]);
    let again = ok(import(&app, &admin, file.into(), false).await, 200).await;
    assert_eq!(figures(&again), [2, 0, 0, 2, 0, 0]);
    assert_eq!(again["errors"], json!([]));
    // A new name and a new membership are updates; roles of people are never changed.
    let changed =
        "phone,name,team,team_role\n13922220001,李阿姨,党员义工队,leader\n13922220002,王建国,,\n";
    let report = ok(import(&app, &admin, changed.into(), false).await, 200).await;
    assert_eq!(figures(&report), [2, 0, 2, 0, 0, 0]);
    let name = who(&app, &admin, "13922220002").await.expect("there");
    assert_eq!(name, "王建国");
    assert_eq!(teams(&app, &admin).await.len(), 1);
}

#[actix_web::test]
async fn a_dry_run_answers_the_same_figures_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, admin) = person(&app, "主任", Role::Admin).await;
    let dry = ok(
        import(&app, &admin, FILE.as_bytes().to_vec(), true).await,
        200,
    )
    .await;
    assert_eq!(dry["dry_run"], true);
    assert!(who(&app, &admin, "13911110001").await.is_none());
    assert!(teams(&app, &admin).await.is_empty());
    let real = ok(
        import(&app, &admin, FILE.as_bytes().to_vec(), false).await,
        200,
    )
    .await;
    assert_eq!(figures(&dry), figures(&real));
    assert_eq!(dry["errors"], real["errors"]);
}

#[actix_web::test]
async fn a_gb18030_file_with_chinese_names_is_detected_and_read() {
    let app = spawn_app().await;
    let (_, admin) = person(&app, "主任", Role::Admin).await;
    let text =
        "phone,name,team\r\n13933330001,欧阳娜娜,邻里互助队\r\n13933330002,司马光,邻里互助队\r\n";
    let (gb, _, lossy) = encoding_rs::GB18030.encode(text);
    assert!(
        !lossy && std::str::from_utf8(&gb).is_err(),
        "really GB18030"
    );
    let report = ok(import(&app, &admin, gb.into_owned(), false).await, 200).await;
    assert_eq!(figures(&report), [2, 2, 0, 0, 1, 0], "{report}");
    assert_eq!(
        who(&app, &admin, "13933330001").await.expect("there"),
        "欧阳娜娜"
    );
    assert_eq!(teams(&app, &admin).await[0].0, "邻里互助队");
}

#[actix_web::test]
async fn an_import_is_for_admins_and_a_file_without_a_phone_column_is_refused_whole() {
    let app = spawn_app().await;
    let (_, admin) = person(&app, "主任", Role::Admin).await;
    let (_, staff) = person(&app, "社工", Role::Staff).await;
    let res = import(&app, &staff, FILE.as_bytes().to_vec(), false).await;
    assert_eq!(res.status().as_u16(), 403);
    let res = import(&app, &admin, "name,team\n李阿姨,x\n".into(), false).await;
    assert_eq!(res.status().as_u16(), 422);
    let res = app
        .client
        .post(format!("{}/api/v1/volunteers/import", app.address))
        .bearer_auth(&admin)
        .json(&json!({"phone": "13900000000"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status().as_u16(), 415);
    let big = format!("phone,name\n{}", "13900000000,x\n".repeat(400_000));
    let res = import(&app, &admin, big.into(), false).await;
    assert_eq!(res.status().as_u16(), 413);
    assert!(teams(&app, &admin).await.is_empty());
}

#[actix_web::test]
async fn row_errors_and_a_refused_file_are_said_in_the_callers_language() {
    let app = spawn_app().await;
    let (_, admin) = person(&app, "主任", Role::Admin).await;
    let send = |file: &'static str| {
        app.client
            .post(format!(
                "{}/api/v1/volunteers/import?dry_run=true",
                app.address
            ))
            .bearer_auth(&admin)
            .header("Content-Type", "text/csv")
            .header("Accept-Language", "zh-CN")
            .body(file)
            .send()
    };
    let file = "phone,name,team_role\n13900000001,李阿姨,队长\n13900000001,王师傅,\n";
    let report = ok(send(file).await.expect("sent"), 200).await;
    let messages: Vec<&str> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["message"].as_str().expect("a message"))
        .collect();
    assert_eq!(messages, ["须为 member 或 leader"], "{report}");
    let problem = ok(send("name,team\n李阿姨,x\n").await.expect("sent"), 422).await;
    assert_eq!(problem["errors"][0]["field"], "file");
    assert_eq!(
        problem["errors"][0]["message"],
        "标题行须包含 phone 列和 name 列"
    );
}

/// A database the CLI can use: a temporary SQLite file, or a new PostgreSQL database.
struct CliDatabase {
    url: String,
    _dir: tempfile::TempDir,
    admin_url: Option<String>,
}

impl CliDatabase {
    fn new() -> CliDatabase {
        use diesel::{Connection, RunQueryDsl};
        let dir = tempfile::tempdir().expect("a folder");
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin) if on_postgres() => {
                let name = format!("vp_cli_{}", uuid::Uuid::new_v4().simple());
                let mut conn = diesel::PgConnection::establish(&admin).expect("PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .expect("created");
                let (base, _) = admin.rsplit_once('/').expect("a path");
                CliDatabase {
                    url: format!("{base}/{name}"),
                    _dir: dir,
                    admin_url: Some(admin),
                }
            }
            _ => CliDatabase {
                url: dir.path().join("cli.db").to_string_lossy().into_owned(),
                _dir: dir,
                admin_url: None,
            },
        }
    }

    fn import(&self, file: &std::path::Path, dry_run: bool) -> (bool, Value) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_volunteer-points"));
        cmd.env_clear()
            .env("DATABASE_URL", &self.url)
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
}

impl Drop for CliDatabase {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        if let Some(admin) = &self.admin_url {
            let name = self.url.rsplit('/').next().unwrap_or_default();
            if let Ok(mut conn) = diesel::PgConnection::establish(admin) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
    }
}

#[test]
fn the_cli_imports_the_same_way_and_exits_1_on_row_errors() {
    let db = CliDatabase::new();
    let dir = tempfile::tempdir().expect("a folder");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, FILE).expect("written");
    let (success, dry) = db.import(&bad, true);
    assert!(!success, "row errors exit 1");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(figures(&dry), [6, 3, 0, 0, 2, 0]);
    assert_eq!(errors(&dry).len(), 3);
    let (_, real) = db.import(&bad, false);
    assert_eq!(figures(&real), figures(&dry), "the dry run changed nothing");

    let good = dir.path().join("good.csv");
    let (gb, _, _) =
        encoding_rs::GB18030.encode("phone,name,team\n13944440001,欧阳娜娜,党员义工队\n");
    std::fs::write(&good, gb).expect("written");
    let (success, report) = db.import(&good, false);
    assert!(success);
    assert_eq!(figures(&report), [1, 1, 0, 0, 0, 0]);
    let (success, again) = db.import(&good, false);
    assert!(success);
    assert_eq!(figures(&again), [1, 0, 0, 1, 0, 0]);
}
