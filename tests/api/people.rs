//! Tests of people: /me, passwords, the directory, desk registration, roles.

use std::collections::HashSet;

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::*;

/// `GET /volunteers` with query parameters (encoded properly).
async fn directory(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Response {
    app.client
        .get(app.url("/volunteers"))
        .bearer_auth(token)
        .query(query)
        .send()
        .await
        .expect("sent")
}

/// The ids of a page's items.
fn ids(page: &Value) -> Vec<String> {
    each(&page["items"], "id")
}

#[actix_web::test]
async fn me_shows_the_caller_with_no_teams_yet() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    let me = app.me(&v).expect_json(StatusCode::OK).await;
    assert_eq!(me["id"], v.id.as_str());
    assert_eq!(me["phone"], v.phone.as_str());
    assert_eq!(me["name"], "志愿者");
    assert_eq!(me["role"], "volunteer");
    assert!(me["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(me["teams"], json!([]));
    assert!(me.get("password_hash").is_none());
}

#[actix_web::test]
async fn unknown_routes_are_404_and_wrong_methods_are_405() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    let res = app.get("/no-such-thing", &v.token).await;
    assert_problem(res, 404, "not-found").await;
    let res = app
        .request(Method::GET, "/not-even-the-api", None, None)
        .await;
    assert_problem(res, 404, "not-found").await;
    let res = app.delete("/me", &v.token).await;
    assert_problem(res, 405, "method-not-allowed").await;
    let res = app.request(Method::GET, "/auth/login", None, None).await;
    assert_problem(res, 405, "method-not-allowed").await;
}

#[actix_web::test]
async fn a_path_id_that_is_not_a_uuid_is_404() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    for unknown in ["not-a-uuid".to_owned(), uuid::Uuid::new_v4().to_string()] {
        app.person(&staff, &unknown)
            .expect_problem(404, "not-found")
            .await;
    }
}

#[actix_web::test]
async fn a_volunteer_sees_their_own_record_but_not_anothers_nor_the_directory() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    let other = app.volunteer().await;
    let own = app.person(&v, &v.id).expect_json(StatusCode::OK).await;
    assert_eq!(own["id"], v.id.as_str());
    app.person(&v, &other.id)
        .expect_problem(404, "not-found")
        .await;
    app.people(&v, "").expect_problem(403, "forbidden").await;
    app.register_at_desk(&v, &json!({"phone": unique_phone(), "name": "Nope"}))
        .expect_problem(403, "forbidden")
        .await;
    // Staff see anyone.
    let staff = app.staff().await;
    let theirs = app
        .person(&staff, &other.id)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(theirs["phone"], other.phone.as_str());
}

#[actix_web::test]
async fn staff_search_the_directory_by_name_and_by_phone() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let wanda = app.volunteer_named("Wanda Quux").await;
    let other = app.volunteer_named("Bob 100% Plain").await;
    // Case does not matter, on either database.
    for q in ["Quux", "quux", "WANDA Q"] {
        let res = directory(&app, &staff.token, &[("q", q)]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(ids(&body(res).await), vec![wanda.id.clone()], "q={q}");
    }
    let page = body(directory(&app, &staff.token, &[("q", "Quux")]).await).await;
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["items"][0]["name"], "Wanda Quux");
    // By phone, whole or in part.
    let res = directory(&app, &staff.token, &[("q", &other.phone)]).await;
    assert_eq!(ids(&body(res).await), vec![other.id.clone()]);
    let res = directory(&app, &staff.token, &[("q", &wanda.phone[5..])]).await;
    assert_eq!(ids(&body(res).await), vec![wanda.id.clone()]);
    // LIKE wildcards in `q` are taken literally.
    let res = directory(&app, &staff.token, &[("q", "100%")]).await;
    assert_eq!(ids(&body(res).await), vec![other.id.clone()]);
    let res = directory(&app, &staff.token, &[("q", "%")]).await;
    assert_eq!(ids(&body(res).await), vec![other.id.clone()]);
    let res = directory(&app, &staff.token, &[("q", "nobody-has-this")]).await;
    assert_eq!(ids(&body(res).await), Vec::<String>::new());
}

#[actix_web::test]
async fn the_directory_pages_by_cursor_through_every_person_exactly_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mut everyone: HashSet<String> = HashSet::from([staff.id.clone()]);
    for _ in 0..4 {
        everyone.insert(app.volunteer().await.id);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = directory(&app, &staff.token, &query).await;
        assert_eq!(res.status(), 200);
        let page = body(res).await;
        let items = ids(&page);
        assert!(items.len() <= 2);
        seen.extend(items);
        pages += 1;
        assert!(pages <= 10, "the walk does not end");
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), everyone);
    assert_eq!(pages, 3);
    // Newest first: the last volunteer registered opens the first page.
    let first = body(directory(&app, &staff.token, &[("limit", "1")]).await).await;
    assert_eq!(ids(&first)[0], seen[0]);
    assert_eq!(seen[4], staff.id, "the oldest comes last");
}

#[actix_web::test]
async fn page_sizes_outside_1_to_100_are_422_and_a_foreign_cursor_is_400() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    for limit in ["0", "101", "-1"] {
        let res = directory(&app, &staff.token, &[("limit", limit)]).await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], "limit", "limit={limit}");
    }
    for limit in ["1", "100"] {
        let res = directory(&app, &staff.token, &[("limit", limit)]).await;
        assert_eq!(res.status(), 200, "limit={limit}");
    }
    let res = directory(&app, &staff.token, &[("limit", "ten")]).await;
    assert_problem(res, 400, "bad-request").await;
    let res = directory(&app, &staff.token, &[("cursor", "!!not-ours!!")]).await;
    assert_problem(res, 400, "bad-request").await;
}

#[actix_web::test]
async fn staff_register_someone_without_the_app_who_signs_in_only_after_a_desk_reset() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let phone = unique_phone();
    let user = app
        .register_at_desk(
            &staff,
            &json!({"phone": phone, "name": " 王奶奶 ", "role": "admin"}),
        )
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(user["name"], "王奶奶");
    assert_eq!(user["role"], "volunteer");
    assert_eq!(user["phone"], phone.as_str());
    let id = user["id"].as_str().expect("id").to_owned();
    // Nobody can sign in: there is no password anyone knows.
    for guess in ["correct horse battery", "", &id] {
        let res = app.login(&phone, guess).await;
        assert_problem(res, 401, "invalid-credentials").await;
    }
    app.reset_password(&staff, &id, "set at the desk")
        .expect_status(StatusCode::NO_CONTENT)
        .await;
    let res = app.login(&phone, "set at the desk").await;
    assert_eq!(res.status(), 200);
    // The same phone again is taken; rule-breaking values name their fields.
    app.register_at_desk(&staff, &json!({"phone": phone, "name": "Again"}))
        .expect_problem(409, "phone-taken")
        .await;
    let problem = app
        .register_at_desk(
            &staff,
            &json!({"phone": "12", "name": "", "password": "short"}),
        )
        .expect_problem(422, "validation-failed")
        .await;
    let fields = fields_named(&problem);
    assert_eq!(fields, ["name", "password", "phone"]);
    // With a password, they can sign in at once.
    let phone2 = unique_phone();
    app.register_at_desk(
        &staff,
        &json!({"phone": phone2, "name": "Has App", "password": "their own password"}),
    )
    .expect_status(StatusCode::CREATED)
    .await;
    assert_eq!(app.login(&phone2, "their own password").await.status(), 200);
}

#[actix_web::test]
async fn changing_ones_password_ends_other_sessions_and_keeps_this_one() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    // A second sign-in: the session that changes the password.
    let this = app.signed_in_again(&v).await;

    app.change_my_password(&this, "not my password", "a new password")
        .expect_problem(401, "invalid-credentials")
        .await;
    let problem = app
        .change_my_password(&this, &v.password, "short")
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(problem["errors"][0]["field"], "new_password");
    let res = app
        .put(
            "/me/password",
            &this.token,
            &json!({"current_password": v.password}),
        )
        .await;
    assert_problem(res, 400, "bad-request").await;
    // None of the refusals above changed the password.
    assert_eq!(app.login(&v.phone, &v.password).await.status(), 200);
    app.change_my_password(&this, &v.password, "a new password")
        .expect_status(StatusCode::NO_CONTENT)
        .await;

    let res = app.refresh(&v.refresh_token).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app.refresh(&this.refresh_token).await;
    assert_eq!(res.status(), 200, "the session that changed it goes on");
    let res = app.login(&v.phone, &v.password).await;
    assert_problem(res, 401, "invalid-credentials").await;
    let res = app.login(&v.phone, "a new password").await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_desk_reset_ends_the_persons_sessions_and_the_new_password_works() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let second = app.signed_in_again(&v).await;
    let problem = app
        .reset_password(&staff, &v.id, "short")
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(problem["errors"][0]["field"], "password");
    app.reset_password(&staff, &v.id, "reset at the desk")
        .expect_status(StatusCode::NO_CONTENT)
        .await;
    for old in [&v.refresh_token, &second.refresh_token] {
        let res = app.refresh(old).await;
        assert_problem(res, 401, "unauthenticated").await;
    }
    let res = app.login(&v.phone, &v.password).await;
    assert_problem(res, 401, "invalid-credentials").await;
    let res = app.login(&v.phone, "reset at the desk").await;
    assert_eq!(res.status(), 200);
    // Unknown people are 404.
    let unknown = uuid::Uuid::new_v4().to_string();
    app.reset_password(&staff, &unknown, "reset at the desk")
        .expect_problem(404, "not-found")
        .await;
}

#[actix_web::test]
async fn staff_may_not_reset_a_staff_or_admin_password_but_an_admin_may() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let other_staff = app.staff().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let password = "reset at the desk";
    for target in [&other_staff, &admin, &staff] {
        app.reset_password(&staff, &target.id, password)
            .expect_problem(403, "forbidden")
            .await;
    }
    // A volunteer may reset nobody's, not even their own this way.
    app.reset_password(&v, &v.id, password)
        .expect_problem(403, "forbidden")
        .await;
    // The refusals changed nothing.
    assert_eq!(
        app.login(&other_staff.phone, &other_staff.password)
            .await
            .status(),
        200
    );
    app.reset_password(&admin, &other_staff.id, password)
        .expect_status(StatusCode::NO_CONTENT)
        .await;
    let res = app.refresh(&other_staff.refresh_token).await;
    assert_problem(res, 401, "unauthenticated").await;
    assert_eq!(
        app.login(&other_staff.phone, "reset at the desk")
            .await
            .status(),
        200
    );
}

#[actix_web::test]
async fn an_admin_changes_roles_which_revokes_the_persons_refresh_tokens() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;

    app.set_role(&staff, &v.id, "staff")
        .expect_problem(403, "forbidden")
        .await;
    app.set_role(&v, &v.id, "admin")
        .expect_problem(403, "forbidden")
        .await;
    // 403 comes before the path is even looked at.
    app.set_role(&staff, "nope", "admin")
        .expect_problem(403, "forbidden")
        .await;
    assert_eq!(
        app.refresh(&v.refresh_token).await.status(),
        200,
        "still live"
    );

    let live = app.signed_in_again(&v).await;
    app.set_role(&admin, &v.id, "root")
        .expect_problem(400, "bad-request")
        .await;
    let res = app
        .put(
            &format!("/volunteers/{}/role", v.id),
            &admin.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 400, "bad-request").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    app.set_role(&admin, &unknown, "staff")
        .expect_problem(404, "not-found")
        .await;
    assert_eq!(
        app.refresh(&live.refresh_token).await.status(),
        200,
        "refusals revoke nothing"
    );

    // The role they already have changes nothing and signs no one out; a new one revokes.
    for (role, refresh) in [("volunteer", 200), ("staff", 401)] {
        let live = app.signed_in_again(&v).await;
        let user = app
            .set_role(&admin, &v.id, role)
            .expect_json(StatusCode::OK)
            .await;
        assert_eq!(
            (user["role"].as_str(), user["id"].as_str()),
            (Some(role), Some(v.id.as_str()))
        );
        let res = app.refresh(&live.refresh_token).await;
        assert_eq!(res.status().as_u16(), refresh, "{role}");
    }
    // Signing in again gives a token with the new role.
    let auth = body(app.login(&v.phone, &v.password).await).await;
    assert_eq!(auth["user"]["role"], "staff");
    let token = auth["access_token"].as_str().expect("token");
    assert_eq!(app.get("/volunteers", token).await.status(), 200);
}
