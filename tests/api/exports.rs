//! CSV exports over HTTP: byte-order mark, header, RFC 4180 quoting, the formula guard, file
//! names, who may export, and rows that span many batches.

use reqwest::Response;
use volunteer_points::domain::people::Role;

use crate::helpers::{header, spawn_app, time, Answer, StatusCode};

/// The header name, the file name it gives, and the parsed rows (header first) of a CSV answer.
async fn csv(res: Response) -> (String, Vec<Vec<String>>) {
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(header(&res, "content-type"), "text/csv; charset=utf-8");
    let disposition = header(&res, "content-disposition").to_owned();
    let bytes = res.bytes().await.expect("a body");
    assert!(
        bytes.starts_with(b"\xef\xbb\xbf"),
        "a byte-order mark first"
    );
    let rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..])
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect();
    (disposition, rows)
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0].iter().position(|h| h == name).expect(name)
}

#[actix_web::test]
async fn a_name_with_a_comma_a_quote_and_a_leading_equals_is_quoted_and_guarded() {
    let app = spawn_app().await;
    app.set_time(time("2026-11-10T02:00:00Z"));
    let (staff, admin) = app.office().await;
    let tricky = "=HYPERLINK(\"x\"),李";
    let v = app.user_named(Role::Volunteer, tricky).await;
    let t = app.team_named(&staff, "党员义工队").await;
    let a = app.activity_now(&staff, Some(&t), "-清扫, \"楼道\"").await;
    app.served(&staff, &admin, &a, &v, 75).await;

    let (file, rows) = csv(app.export(&staff, "volunteers.csv", "").await).await;
    assert_eq!(file, "attachment; filename=\"volunteers-2026-11-10.csv\"");
    assert_eq!(
        rows[0],
        [
            "volunteer_id",
            "phone",
            "name",
            "role",
            "teams",
            "balance",
            "earned_total",
            "minutes_served",
            "created_at"
        ]
    );
    let row = rows
        .iter()
        .find(|r| r[0] == v.id)
        .expect("the volunteer's row");
    assert_eq!(row[column(&rows, "name")], format!("'{tricky}"));
    assert_eq!(row[column(&rows, "balance")], "75");
    assert_eq!(row[column(&rows, "minutes_served")], "75");
    let created = &row[column(&rows, "created_at")];
    assert!(
        created.starts_with("2026-11-10T02:00:00") && created.ends_with('Z'),
        "{created}"
    );
    assert_eq!(rows.len(), 4, "three people and the header");

    let (file, rows) = csv(app.export(&staff, "activity-logs.csv", "").await).await;
    assert_eq!(
        file,
        "attachment; filename=\"activity-logs-2026-11-01-2026-12-01.csv\""
    );
    assert_eq!(rows.len(), 2);
    let row = &rows[1];
    assert_eq!(row[column(&rows, "activity_title")], "'-清扫, \"楼道\"");
    assert_eq!(row[column(&rows, "volunteer_name")], format!("'{tricky}"));
    assert_eq!(row[column(&rows, "team")], "党员义工队");
    assert_eq!(row[column(&rows, "reviewed_by")], "主任");
    assert_eq!(row[column(&rows, "status")], "approved");
    assert_eq!(row[column(&rows, "points_awarded")], "75");

    // Negative amounts are numbers: never prefixed.
    let (file, rows) = csv(app.export(&admin, "ledger.csv", "").await).await;
    assert_eq!(
        file,
        "attachment; filename=\"ledger-2026-11-01-2026-12-01.csv\""
    );
    let amounts: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r[column(&rows, "amount")].as_str())
        .collect();
    assert_eq!(amounts.len(), 2);
    assert!(
        amounts.contains(&"-75") && amounts.contains(&"75"),
        "{amounts:?}"
    );
    let mine = rows
        .iter()
        .find(|r| r[column(&rows, "volunteer_id")] == v.id)
        .expect("a leg");
    assert_eq!(mine[column(&rows, "volunteer_name")], format!("'{tricky}"));
    assert_eq!(mine[column(&rows, "balance_after")], "75");

    // The raw bytes quote as RFC 4180 says.
    let res = app.export(&staff, "volunteers.csv", "").await;
    let text = res.text().await.expect("text");
    assert!(text.contains("\"'=HYPERLINK(\"\"x\"\"),李\""), "{text}");
    assert!(text.contains("\r\n"));
}

#[actix_web::test]
async fn the_activity_log_export_keeps_to_its_range_team_and_status() {
    let app = spawn_app().await;
    app.set_time(time("2026-10-20T02:00:00Z"));
    let (staff, admin) = app.office().await;
    let leader = app.user_named(Role::Volunteer, "队长").await;
    let v = app.user_named(Role::Volunteer, "李阿姨").await;
    let mine = app.team_named(&staff, "蒋姐姐助老服务队").await;
    app.lead(&staff, &mine, &leader).await;
    let october = app.activity_now(&staff, Some(&mine), "十月").await;
    app.served(&staff, &admin, &october, &v, 30).await;
    app.set_time(time("2026-11-10T02:00:00Z"));
    let ours = app.activity_now(&staff, Some(&mine), "助老").await;
    let other = app.activity_now(&staff, None, "其他").await;
    app.served(&staff, &admin, &ours, &v, 30).await;
    app.record_attendance(&staff, &other, &v, 20)
        .expect_status(StatusCode::CREATED)
        .await;

    let titles = |rows: Vec<Vec<String>>| -> Vec<String> {
        let c = column(&rows, "activity_title");
        let mut t: Vec<String> = rows[1..].iter().map(|r| r[c].clone()).collect();
        t.sort();
        t
    };
    let logs = "activity-logs.csv";
    let (_, rows) = csv(app.export(&staff, logs, "").await).await;
    assert_eq!(titles(rows), ["其他", "助老"]);
    let query = "status=approved&from=2026-10-01T00:00:00Z";
    let (file, rows) = csv(app.export(&staff, logs, query).await).await;
    assert_eq!(
        file,
        format!("attachment; filename=\"activity-logs-2026-10-01-2026-12-01.csv\"")
    );
    assert_eq!(titles(rows), ["助老", "十月"]);
    let ours = format!("team_id={mine}");
    let (_, rows) = csv(app.export(&leader, logs, &ours).await).await;
    assert_eq!(titles(rows), ["助老"]);

    for (who, file, query, status) in [
        (&leader, logs, "", 403),
        (&v, logs, ours.as_str(), 403),
        (&staff, logs, "status=lost", 400),
        (&v, "volunteers.csv", "", 403),
        (&staff, "ledger.csv", "", 403),
    ] {
        let res = app.export(who, file, query).await;
        assert_eq!(res.status().as_u16(), status, "{file}?{query}");
    }
}

#[actix_web::test]
async fn an_export_of_many_batches_holds_every_row_once() {
    let app = spawn_app().await;
    let staff = app.user_named(Role::Staff, "社工").await;
    // Same created_at for all: the keyset must go on by id.
    app.plant_people(2_345);
    let (_, rows) = csv(app.export(&staff, "volunteers.csv", "").await).await;
    assert_eq!(rows.len(), 2_346 + 1);
    let mut ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2_346);
}
